"""Embedding models and vector indexes, behind small interfaces."""
