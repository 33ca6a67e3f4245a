"""What guards the dashboard's server: websocket Origin and Host checks.

The dashboard has no authentication: whoever can open its page can drive its models. Two
checks keep other web pages out:

* A websocket (the channel every click and slider goes through) whose ``Origin`` is not the
  page's own (``http://<Host header>``) is refused: another site open in the same browser
  cannot drive the dashboard (cross-site websocket hijacking).
* Served on a loopback address, only requests whose ``Host`` is a loopback name
  (``127.0.0.1``, ``localhost``, ``[::1]``) are answered, so a site that points its own name at
  127.0.0.1 (DNS rebinding) gets nothing.

:func:`install` puts them in front of solara's app before the server starts.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("licsim.dashboard")

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or name the server listens on) is this computer only."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """``127.0.0.1:8765`` -> ``127.0.0.1``; ``[::1]:8765`` -> ``::1``."""
    return (urlsplit(f"//{host_header}").hostname or "").lower()


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def same_origin(origin: str, host_header: str) -> bool:
    """Whether a browser's ``Origin`` is the page's own: the scheme-less part equals the Host header."""
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.netloc.lower() == host_header.lower()


class OriginGuard:
    """ASGI middleware: refuse cross-origin websockets, and foreign Host names when on loopback."""

    def __init__(self, app: Any, loopback_only: bool = True):
        self.app = app
        self.loopback_only = loopback_only

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        why = None
        if self.loopback_only and host and not is_loopback(_host_name(host)):
            why = f"Host {host!r} is not this computer's"
        elif scope["type"] == "websocket":
            origin = headers.get("origin")
            if origin is not None and not same_origin(origin, host):
                why = f"websocket from another origin ({origin!r}, page {host!r})"
        if why is None:
            await self.app(scope, receive, send)
            return
        log.warning("dashboard: refused %s", why)
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
        else:
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"forbidden\n"})


def install(host: str) -> None:
    """Put :class:`OriginGuard` in front of the app uvicorn serves (call before the server starts).

    Solara's command line loads its Starlette app by name only after it has set up the
    environment the app reads when imported, so the guard wraps the app as uvicorn loads it
    rather than importing the app early.
    """
    import uvicorn

    loopback_only = is_loopback(host)
    original = uvicorn.Config.load
    if getattr(original, "_licsim_guard", False):
        return

    def load(self: Any) -> None:
        original(self)
        self.loaded_app = OriginGuard(self.loaded_app, loopback_only=loopback_only)

    load._licsim_guard = True  # type: ignore[attr-defined]
    uvicorn.Config.load = load  # type: ignore[method-assign]
