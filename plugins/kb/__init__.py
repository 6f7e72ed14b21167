"""kb plugin: a knowledge base over a Markdown vault, indexed in SQLite FTS5, served as ``kb_*`` MCP tools.

The hooks are in ``hooks.py`` (the ``argus`` entry point); see ``docs/kb.md``.
"""
