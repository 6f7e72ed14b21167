"""MCP over streamable HTTP (initialize -> notifications/initialized -> tools/call), stdlib only,
and how the demo agent finds its MCP endpoint (flags, ``.mcp.json``, Codex ``-c`` overrides)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .options import VERSION, Options, load_json_arg, parse_toml_value

DEFAULT_MCP_URL = "http://127.0.0.1:7742/mcp"
MCP_PROTOCOL_VERSION = "2025-06-18"


def no_proxy_opener() -> urllib.request.OpenerDirector:
    # The daemon is on loopback or the tailnet: never go through an HTTP proxy from the env.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class McpError(Exception):
    """A failed MCP exchange (transport error, JSON-RPC error, malformed answer)."""


class McpClient:
    """A minimal MCP client over the streamable-HTTP transport, using only urllib."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.session_id: str | None = None
        self.protocol_version: str | None = None
        self._next_id = 0
        self._opener = no_proxy_opener()

    def _request(self, method: str, params: dict[str, Any] | None, notify: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            payload["params"] = params
        request_id = None
        if not notify:
            self._next_id += 1
            request_id = payload["id"] = self._next_id
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **self.headers,
        }
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        req = urllib.request.Request(self.url, data=json.dumps(payload).encode(), headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                session_id = resp.headers.get("Mcp-Session-Id")
                if session_id:
                    self.session_id = session_id
                if notify:
                    return {}
                ctype = resp.headers.get("Content-Type", "")
                if "text/event-stream" in ctype:
                    message = self._read_sse(resp, request_id)
                else:
                    message = self._pick(json.loads(resp.read() or b"null"), request_id)
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace").strip()
            raise McpError(f"HTTP {exc.code}: {body[:300]}") from None
        except (OSError, ValueError) as exc:
            raise McpError(str(exc) or type(exc).__name__) from None
        if message is None:
            raise McpError(f"no answer to {method}")
        if "error" in message:
            error = message["error"] or {}
            raise McpError(f"{error.get('message', 'error')} ({error.get('code')})")
        result = message.get("result")
        return result if isinstance(result, dict) else {}

    @staticmethod
    def _pick(data: object, request_id: int | None) -> dict[str, Any] | None:
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict) and item.get("id") == request_id:
                return item
        return None

    def _read_sse(self, resp: Any, request_id: int | None) -> dict[str, Any] | None:
        data_lines: list[str] = []
        for raw in resp:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                if data_lines:
                    found = self._pick(json.loads("\n".join(data_lines)), request_id)
                    data_lines = []
                    if found is not None and ("result" in found or "error" in found):
                        return found
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            if name == "data":
                data_lines.append(value[1:] if value.startswith(" ") else value)
        if data_lines:
            return self._pick(json.loads("\n".join(data_lines)), request_id)
        return None

    def initialize(self) -> None:
        """Open an MCP session: ``initialize`` then ``notifications/initialized``."""
        result = self._request(
            "initialize",
            {
                "protocolVersion": MCP_PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "argus-demo-agent", "version": VERSION},
            },
        )
        self.protocol_version = str(result.get("protocolVersion") or MCP_PROTOCOL_VERSION)
        self._request("notifications/initialized", None, notify=True)

    def call_tool(self, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        """Call tool ``name``; return its text content and whether it is a tool error."""
        result = self._request("tools/call", {"name": name, "arguments": arguments})
        texts = [
            str(item.get("text", ""))
            for item in result.get("content") or []
            if isinstance(item, dict) and item.get("type") == "text"
        ]
        text = "\n".join(texts)
        if not texts and result.get("structuredContent") is not None:
            text = json.dumps(result["structuredContent"])
        return text, bool(result.get("isError"))

    def close(self) -> None:
        """End the MCP session (DELETE), ignoring errors."""
        if not self.session_id:
            return
        headers = {"Mcp-Session-Id": self.session_id, **self.headers}
        req = urllib.request.Request(self.url, headers=headers, method="DELETE")
        try:
            self._opener.open(req, timeout=min(self.timeout, 2.0)).close()
        except (OSError, ValueError):
            pass


def mcp_endpoint(opts: Options, env: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """Where to reach Argus's MCP server, and which headers to send."""
    config = load_json_arg(opts.mcp_config) or load_json_arg(".mcp.json" if Path(".mcp.json").is_file() else None)
    servers = config.get("mcpServers") or {}
    entry: dict[str, Any] = {}
    if isinstance(servers, dict):
        candidates = [servers.get("argus")] + list(servers.values())
        entry = next((c for c in candidates if isinstance(c, dict) and c.get("url")), {})
    codex_url = parse_toml_value(opts.config.get("mcp_servers.argus.url", ""))  # codex -c override
    if not entry and isinstance(codex_url, str) and codex_url:
        entry = {"url": codex_url}
    url = env.get("ARGUS_MCP_URL") or str(entry.get("url") or DEFAULT_MCP_URL)
    headers: dict[str, str] = {}
    if entry and str(entry.get("url")) == url and isinstance(entry.get("headers"), dict):
        # Like Claude Code, ${VAR} in a header value is taken from the environment.
        headers = {str(k): _expand_env(str(v), env) for k, v in entry["headers"].items()}
    token_var = parse_toml_value(opts.config.get("mcp_servers.argus.bearer_token_env_var", ""))
    if isinstance(token_var, str) and token_var and env.get(token_var):  # codex's bearer_token_env_var
        headers.setdefault("Authorization", f"Bearer {env[token_var]}")
    # Claude and Codex read no token variable of their own: only what their config names.
    if opts.imitate not in ("claude", "codex") and env.get("ARGUS_MCP_TOKEN") \
            and not any(k.lower() == "authorization" for k in headers):
        headers["Authorization"] = f"Bearer {env['ARGUS_MCP_TOKEN']}"
    return url, headers


def _expand_env(value: str, env: Mapping[str, str]) -> str:
    """``${VAR}`` replaced by the variable's value (empty when unset)."""
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), value)
