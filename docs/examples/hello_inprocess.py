"""hello: a tiny in-process Argus plugin (a table, a setting, an MCP tool and a REST route).

Try it without packaging:  ARGUS_PLUGINS=docs/examples/hello_inprocess.py argus daemon run
"""

from __future__ import annotations

from typing import Any

from argus.kernel.api import Field, Invalid, Migration, SettingsSection, ToolContext, hookimpl
from quart import Blueprint

__version__ = "1.0"


@hookimpl
def argus_migrations() -> list[Migration]:
    """One table, owned by this plugin; the kernel applies it once and records it."""
    return [Migration("hello", 1, "CREATE TABLE hello_greetings (name TEXT PRIMARY KEY, count INTEGER NOT NULL);")]


@hookimpl
def argus_settings_sections() -> list[SettingsSection]:
    """A [hello] section: editable in Settings, PUT /api/settings, or config.toml."""
    return [SettingsSection("hello", "Hello", [Field("greeting", "string", "Hello", "Greeting")])]


@hookimpl
def argus_register(kernel: Any) -> None:
    """Register an MCP tool and a REST route that share one function."""

    def greet(name: Any) -> dict[str, Any]:
        if not isinstance(name, str) or not name.strip():
            raise Invalid("name is required")  # -> HTTP 400, or an MCP tool error
        kernel.db.execute("INSERT INTO hello_greetings VALUES (?, 1) "
                          "ON CONFLICT(name) DO UPDATE SET count = count + 1", (name,))
        count = kernel.db.scalar("SELECT count FROM hello_greetings WHERE name = ?", (name,))
        return {"message": f"{kernel.settings.get('hello', 'greeting')}, {name}!", "count": count}

    async def hello_greet(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
        return greet(args.get("name"))

    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    kernel.registry.add_tool("hello", "hello_greet", "Greet someone by name.", schema, hello_greet)

    bp = Blueprint("hello", __name__)

    @bp.get("/api/hello/<name>")
    async def hello_route(name: str) -> dict[str, Any]:
        return greet(name)

    kernel.http.add_blueprint(bp)
