"""``rag bench``: how fast the app is on this machine, next to what the hardware allows.

Each module measures one thing (``stats``, ``synthetic``, ``reference``,
``measure``); ``report`` turns the figures into the table and files, and
``runner`` runs them in an order that keeps the app's own RSS measurable.
"""
