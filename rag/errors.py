"""Errors a user can act on; the CLI prints them as one line, no traceback."""


class RagError(Exception):
    """Base class for expected, user-facing failures."""


class ModelMissingError(RagError):
    pass


class ModelError(RagError):
    """A model is present but cannot be prepared or used."""


class IndexError_(RagError):
    """The on-disk index is missing, corrupt or built with another embedder."""


class InputError(RagError):
    pass
