"""A plugin for the wire tests: declared routes (path, query, body, response models, master-only)
and an MCP tool declared with ``input_model``. Loaded with ``ARGUS_PLUGINS``."""

from __future__ import annotations

from typing import Any, Literal

from argus.kernel.api import Route, ToolContext, hookimpl
from argus.kernel.errors import NotFound
from pydantic import BaseModel, Field
from quart import Blueprint, websocket


class Greeting(BaseModel):
    """What ``/api/wiretest/greet/{name}`` answers."""

    message: str
    count: int


class GreetQuery(BaseModel):
    """How loud and how often."""

    times: int = Field(1, ge=1, le=5)
    shout: bool = False
    tags: list[str] = []


class NoteIn(BaseModel):
    """A note to store."""

    title: str = Field(min_length=1, max_length=40)
    body: str = ""
    priority: Literal["low", "high"] = "low"
    labels: list[str] = Field(default_factory=list, max_length=3)


class NoteOut(BaseModel):
    """A stored note."""

    id: int
    title: str
    priority: str


class AddArgs(BaseModel):
    """Arguments of ``wiretest_add``."""

    a: int = Field(description="first addend")
    b: int = Field(ge=0, description="second addend (not negative)")


NOTES: list[dict[str, Any]] = []


@hookimpl
def argus_register(kernel: Any) -> None:
    """Declare the routes and the tool."""

    async def greet(name: str, query: GreetQuery) -> dict[str, Any]:
        """Greet someone."""
        text = " ".join([f"Hello, {name}!"] * query.times)
        return {"message": text.upper() if query.shout else text, "count": query.times}

    async def add_note(body: NoteIn) -> dict[str, Any]:
        """Store a note."""
        note = {"id": len(NOTES) + 1, "title": body.title, "priority": body.priority}
        NOTES.append(note)
        return note

    async def get_note(note_id: int) -> dict[str, Any]:
        """One note."""
        for note in NOTES:
            if note["id"] == note_id:
                return note
        raise NotFound(f"no note {note_id}")

    async def broken() -> dict[str, Any]:
        """Answers outside its declared model (a bug the response check catches)."""
        return {"message": 42}

    async def secret() -> dict[str, Any]:
        """Only for the master token."""
        return {"ok": True}

    class NoteId(BaseModel):
        note_id: int = Field(ge=1)

    async def echo_socket(name: str, query: GreetQuery) -> None:
        """WebSocket: greets ``times`` times, then echoes each frame (master token only)."""
        await websocket.accept()
        for _ in range(query.times):
            await websocket.send(f"hello {name}")
        while True:
            await websocket.send(await websocket.receive())

    kernel.http.add_routes("wiretest", [
        Route("GET", "/api/wiretest/greet/{name}", greet, query=GreetQuery, response=Greeting),
        Route("POST", "/api/wiretest/notes", add_note, body=NoteIn, response=NoteOut, status=201),
        Route("GET", "/api/wiretest/notes/{note_id}", get_note, path_params=NoteId, response=NoteOut),
        Route("GET", "/api/wiretest/broken", broken, response=Greeting),
        Route("GET", "/api/wiretest/secret", secret, master_only=True),
        Route("GET", "/api/wiretest/echo/{name}", echo_socket, query=GreetQuery, master_only=True, websocket=True),
    ])

    async def add(args: AddArgs, ctx: ToolContext) -> dict[str, Any]:
        return {"sum": args.a + args.b}

    bp = Blueprint("wiretest_plain", __name__)

    @bp.get("/api/wiretest/plain/<item>")
    async def plain(item: str) -> dict[str, Any]:
        """A route still mounted as a plain blueprint."""
        return {"item": item}

    kernel.http.add_blueprint(bp)

    kernel.registry.add_tool("wiretest", "wiretest_add", "Add two integers.", None, add, input_model=AddArgs)
