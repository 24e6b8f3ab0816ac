"""ASGI middleware: the downloads the web page hands out go into the audit log too."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

from .limits import answer_status

#: what counts as a result being downloaded (videos, batch ZIPs, audit exports)
SUFFIXES = (".mp4", ".zip", ".csv")


class DownloadAudit:
    """Calls ``on_download(path, client address)`` after Gradio's file route has sent a video, ZIP or CSV
    whole. A ``<video>`` element playing a result asks for byte ranges, so playback is not counted."""

    def __init__(self, app, on_download: Callable[[Path, str | None], None]):
        self.app, self.on_download = app, on_download

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        headers = dict(scope.get("headers") or [])
        if scope["type"] != "http" or scope["method"] != "GET" or "/file=" not in path \
                or not path.lower().endswith(SUFFIXES) or b"range" in headers:
            return await self.app(scope, receive, send)
        if await answer_status(self.app, scope, receive, send) == 200:
            client = (scope.get("client") or (None, 0))[0]
            # the audit row hashes the file (a ZIP may be large): not on the event loop
            await asyncio.to_thread(self.on_download, Path(unquote(path.split("/file=", 1)[1])), client)
