"""ASGI middleware that refuses HTTP API uploads over the size limit before they are stored."""
from __future__ import annotations

import json

from .i18n import Msg, msg


async def answer_status(app, scope, receive, send) -> int:
    """Let ``app`` answer the request and return the HTTP status it sent."""
    status = 0

    async def watching_send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    await app(scope, receive, watching_send)
    return status


def refusal_body(message: Msg) -> bytes:
    """A refusal as JSON: the English text and its code (scripts do not depend on the server's language)."""
    return json.dumps({"status": "failed", "error": str(message), "code": message.key}).encode()


class UploadLimit:
    """Requests to ``prefix`` with a body over ``max_bytes`` get 413: at once when Content-Length says
    so, otherwise as soon as the streamed body passes the limit (the rest is never read)."""

    def __init__(self, app, max_bytes: int, prefix: str = "/api/"):
        self.app = app
        self.max_bytes = max_bytes
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(send)
        seen = 0
        too_big = False
        started = False

        async def counting_receive():
            nonlocal seen, too_big
            if too_big:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    too_big = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message):
            nonlocal started
            if too_big and not started:
                return  # the 413 below replaces whatever the app tries to answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not too_big:
                raise
        if too_big and not started:
            await self._refuse(send)

    async def _refuse(self, send):
        body = refusal_body(msg("err.upload_too_large", mb=self.max_bytes // 2**20))
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class LoginLimit:
    """Too many failed logins from one address -> 429 for a while, for Gradio's login form and the
    HTTP API's basic auth alike. A failure is a refused ``POST /login`` (400/401) or a 401 to a request
    that carried credentials."""

    def __init__(self, app, max_failures: int = 10, window_s: float = 60.0, block_s: float = 300.0,
                 clock=None, on_failure=None):
        import time

        self.app, self.on_failure = app, on_failure  # on_failure(address): e.g. an audit row
        self.max_failures, self.window_s, self.block_s = max_failures, window_s, block_s
        self._clock = clock or time.monotonic
        self._failures: dict[str, list[float]] = {}   # explicit per-address record, pruned as it goes
        self._blocked: dict[str, float] = {}

    def _is_login_attempt(self, scope) -> bool:
        headers = dict(scope.get("headers") or [])
        return (scope["path"].rstrip("/").endswith("/login") and scope["method"] == "POST") or \
            b"authorization" in headers

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self._is_login_attempt(scope):
            return await self.app(scope, receive, send)
        host = (scope.get("client") or ("?", 0))[0]
        now = self._clock()
        if self._blocked.get(host, 0) > now:
            return await self._refuse(send, self._blocked[host] - now)
        status = await answer_status(self.app, scope, receive, send)
        login_form = scope["path"].rstrip("/").endswith("/login")
        if status == 401 or (status == 400 and login_form):  # a 400 elsewhere is a bad request, not a login
            if self.on_failure:
                self.on_failure(host)
            recent = [t for t in self._failures.get(host, []) if now - t < self.window_s] + [now]
            self._failures[host] = recent
            if len(recent) >= self.max_failures:
                self._blocked[host] = now + self.block_s
                self._failures.pop(host, None)

    @staticmethod
    async def _refuse(send, wait_s: float):
        body = refusal_body(msg("err.too_many_logins", minutes=int(wait_s // 60) + 1))
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"retry-after", str(int(wait_s) + 1).encode())]})
        await send({"type": "http.response.body", "body": body})
