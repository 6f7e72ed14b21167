"""kb plugin: a knowledge base over a Markdown vault (SQLite FTS5), served as ``kb_*`` MCP tools.

Status: a registered stub with no hooks yet: no ``kb_search``/``kb_read``/``kb_list``/``kb_ingest``
tools and no ``[kb]`` settings section.
"""
