"""Argus kernel: plugins, SQLite, tokens, events, listeners, settings, supervisor link."""
__version__ = "0.1.0"
