"""The one way to reach the local daemon: HTTP over ``$ARGUS_HOME/daemon.sock`` with the master
token from ``$ARGUS_HOME/api-token``. The CLI (``argus daemon status``, ``argus token ...``) and
the TUI both come through here, sync or async.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import httpx

BASE_URL = "http://argus.local"
"""The base URL of requests over the unix socket (the host part is ignored)."""


def read_token(path: Path) -> str:
    """The token stored at ``path`` (stripped), or "" when the file is missing or unreadable."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""


@dataclass(frozen=True)
class LocalDaemon:
    """The daemon of one ``ARGUS_HOME``, as a client sees it."""

    home: Path

    @property
    def socket(self) -> Path:
        """The daemon's unix socket."""
        return self.home / "daemon.sock"

    @property
    def token_file(self) -> Path:
        """The master token's file."""
        return self.home / "api-token"

    def token(self) -> str:
        """The master token ("" before the daemon ever ran)."""
        return read_token(self.token_file)

    def headers(self) -> dict[str, str]:
        """The Authorization header with the master token (none without one)."""
        token = self.token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def client(self, timeout: float = 5.0) -> httpx.Client:
        """A synchronous client on the socket, authenticated with the master token."""
        import httpx  # not at module level: the daemon imports this module but never needs httpx

        return httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)), base_url=BASE_URL,
                            timeout=timeout, headers=self.headers())

    def async_transport(self) -> httpx.AsyncHTTPTransport:
        """An asyncio/trio transport on the socket (the caller adds the token and timeouts)."""
        import httpx

        return httpx.AsyncHTTPTransport(uds=str(self.socket))

    def answers(self, timeout: float = 2.0) -> bool:
        """True when something answers HTTP on the socket (any status, even 401)."""
        if not self.socket.exists():
            return False
        import httpx

        try:
            with self.client(timeout) as client:
                client.get("/api/status")
            return True
        except (httpx.HTTPError, OSError):
            return False

    def status(self, timeout: float = 2.0) -> dict[str, Any] | None:
        """``GET /api/status`` (None when nothing answers or it is not a 200 JSON answer)."""
        if not self.socket.exists():
            return None
        import httpx

        try:
            with self.client(timeout) as client:
                resp = client.get("/api/status")
                return resp.json() if resp.status_code == 200 else None
        except (httpx.HTTPError, OSError, ValueError):
            return None
