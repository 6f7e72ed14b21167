"""scheduler plugin: scheduled tasks (cron, ``@every 30m``, one-shot ``run_once_at``).

Status: a registered stub with no hooks yet: no ``/api/schedules`` routes and no ``schedule_*``
MCP tools.
"""
