"""REST: the effective sandbox of a task, for review (``GET /api/tasks/{id}/sandbox``)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from .service import Sandbox


def make_blueprint(sandbox: Sandbox) -> Blueprint:
    """The sandbox plugin's routes, bound to this daemon's ``Sandbox``."""
    bp = Blueprint("sandbox", __name__)

    @bp.get("/api/tasks/<task_id>/sandbox")
    async def task_sandbox(task_id: str) -> dict[str, Any]:
        """How the task's running agent is confined (``current``) and how a new launch would be (``next``)."""
        return sandbox.describe(task_id)

    return bp
