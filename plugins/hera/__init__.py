"""hera plugin: native multi-agent coordination (coordinator, workers, role-addressed messages).

Status: a registered stub. It loads (so ``argus plugins`` lists it and ``[plugins] disabled``
can switch it off) but implements no hooks yet: no ``hera_*`` MCP tools and no Hera tab. The TUI's
second tab falls back to the dependency-DAG view from ``GET /api/dag``, and the task tools
(``task_create``, ``task_message_send``, ``task_link``, ...) already cover delegation.
"""
