"""Argus built-in plugins. Each sub-package is an ordinary pluggy plugin loaded via the `argus` entry-point group."""
