"""One exception type per kind of failure, mapped once to HTTP codes and MCP tool errors."""

from __future__ import annotations


class ArgusError(Exception):
    """Base class: a failure the caller caused or must know about (never a bug)."""

    status = 400

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def to_json(self) -> dict[str, object]:
        """The JSON error body: ``{"error": message, ...extra}``."""
        return {"error": self.message, **self.extra}


class Invalid(ArgusError):
    """Bad input: 400."""

    status = 400


class Unauthorized(ArgusError):
    """Missing or unknown token: 401."""

    status = 401


class Forbidden(ArgusError):
    """Valid token without the right: 403."""

    status = 403


class Misdirected(ArgusError):
    """The request named a host this listener does not serve (DNS rebinding guard): 421."""

    status = 421


class NotFound(ArgusError):
    """No such object: 404."""

    status = 404


class Conflict(ArgusError):
    """State forbids the action (dirty worktree, duplicate name): 409."""

    status = 409


class TooLarge(ArgusError):
    """Payload over a documented cap: 413."""

    status = 413


class TooMany(ArgusError):
    """Rate or capacity limit reached: 429."""

    status = 429


class Unavailable(ArgusError):
    """A dependency (supervisor, plugin callback) did not answer: 503."""

    status = 503
