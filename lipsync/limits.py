"""ASGI middleware that refuses HTTP API uploads over the size limit before they are stored."""
from __future__ import annotations

import json


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
        body = json.dumps({"status": "failed", "error": f"The upload is larger than the limit of "
                                                         f"{self.max_bytes // 2**20} MB."}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
