"""Offline, cited question answering over news archives."""

__version__ = "0.1.0"
