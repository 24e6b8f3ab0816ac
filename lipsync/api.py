"""Plain HTTP API for systems that do not speak Gradio (a thin shell over the Studio)."""
from __future__ import annotations

import asyncio
import secrets
import tempfile
from pathlib import Path
from typing import Callable

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from .jobs import Ticket
from .service import BatchResult, ItemResult
from .studio import Studio


def _item_json(item: ItemResult, base: str) -> dict:
    data = item.to_json(item.output.parent if item.output else None)
    if item.output:
        data["download_url"] = f"{base}api/v1/files/{item.output.parent.name}/{item.output.name}"
    return data


def ticket_json(studio: Studio, ticket: Ticket, base: str) -> dict:
    """Status of a submitted job: state, queue position, progress, items with download links."""
    out = {"job_id": ticket.id, "state": ticket.state, "queue_position": studio.runner.position(ticket),
           "status_url": f"{base}api/v1/jobs/{ticket.id}"}
    p = ticket.progress
    if p is not None:
        out["progress"] = {"item": p.item + 1, "items": p.n_items, "stage": p.stage,
                           "overall": round(p.overall, 3), "message": p.message}
    batch = ticket.result if isinstance(ticket.result, BatchResult) else None
    items = batch.items if batch else p.items if p is not None else None
    if items is not None:
        out["items"] = [_item_json(i, base) for i in items]
    if batch:
        out["batch"] = batch.folder.name
        if batch.done:
            out["zip_url"] = f"{base}api/v1/batches/{batch.folder.name}/zip"
    if ticket.error:
        out["error"] = ticket.error
    return out


def basic_auth_dependency(credentials: list[tuple[str, str]] | None) -> Callable:
    """HTTP basic auth with the app's login (Gradio's own login does not cover these routes)."""
    security = HTTPBasic(auto_error=False)

    def check(creds: HTTPBasicCredentials | None = Depends(security)) -> None:
        if not credentials:
            return
        if creds is not None:
            for user, pw in credentials:
                if secrets.compare_digest(creds.username.encode(), user.encode()) and \
                        secrets.compare_digest(creds.password.encode(), pw.encode()):
                    return
        raise HTTPException(401, "Login required", headers={"WWW-Authenticate": "Basic"})

    return check


def build_router(studio: Studio, credentials: list[tuple[str, str]] | None = None) -> APIRouter:
    """Routes under /api/v1 (generate single / batch, job status, downloads, history)."""
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(basic_auth_dependency(credentials))])

    async def save(upload: UploadFile) -> Path:
        with tempfile.NamedTemporaryFile(delete=False, dir=studio.settings.data_dir) as tmp:
            while chunk := await upload.read(1 << 20):
                tmp.write(chunk)
        try:
            return studio.keep_upload(tmp.name, upload.filename or "upload")
        finally:
            Path(tmp.name).unlink(missing_ok=True)

    async def submit(audio: UploadFile, videos: list[UploadFile], engine: str | None) -> Ticket:
        studio.settings.data_dir.mkdir(parents=True, exist_ok=True)
        a = await save(audio)
        vs = [await save(v) for v in videos]
        names = {str(a): audio.filename or a.name, **{str(p): v.filename or p.name for p, v in zip(vs, videos)}}
        return studio.submit_batch([a], vs, studio.options(engine), names, kind="http")

    @router.post("/generate/single")
    async def generate_single(request: Request, audio: UploadFile = File(...), video: UploadFile = File(...),
                              engine: str | None = Form(None)):
        """Lip-sync one template to one audio; waits for the result (queued behind other jobs)."""
        ticket = await submit(audio, [video], engine)
        await asyncio.to_thread(ticket.wait)
        base = str(request.base_url)
        if ticket.state != "done":
            return JSONResponse({"status": "failed", "error": ticket.error}, status_code=500)
        item = ticket.result.items[0]
        body = _item_json(item, base)
        body["batch"] = ticket.result.folder.name
        return JSONResponse(body, status_code=200 if item.status == "done" else 422)

    @router.post("/generate/batch", status_code=202)
    async def generate_batch(request: Request, audio: UploadFile = File(...),
                             videos: list[UploadFile] = File(...), engine: str | None = Form(None)):
        """Queue one audio x many templates; poll ``status_url``."""
        ticket = await submit(audio, videos, engine)
        return ticket_json(studio, ticket, str(request.base_url))

    @router.post("/batches/{batch}/resume", status_code=202)
    async def resume_batch(request: Request, batch: str):
        """Run the unfinished items of a batch again (after a crash); finished ones are skipped."""
        if not studio.store.batch_rows(batch):
            raise HTTPException(404, f"No batch '{batch}'.")
        ticket = studio.resume(batch)
        return ticket_json(studio, ticket, str(request.base_url))

    @router.get("/batches/resumable")
    async def resumable():
        """Batches that have interrupted items."""
        return {"batches": studio.store.resumable_batches()}

    @router.get("/jobs/{job_id}")
    async def job_status(request: Request, job_id: str):
        ticket = studio.runner.get(job_id)
        if ticket is None:
            raise HTTPException(404, f"No job '{job_id}'.")
        return ticket_json(studio, ticket, str(request.base_url))

    @router.get("/files/{batch}/{name}")
    async def download(batch: str, name: str):
        path = studio.resolve_output(batch, name)
        if path is None:
            raise HTTPException(404, "No such result.")
        return FileResponse(path, filename=path.name)

    @router.get("/batches/{batch}/zip")
    async def download_zip(batch: str):
        zip_path = studio.resolve_zip(batch)
        if zip_path is None:
            raise HTTPException(404, "No ZIP for this batch.")
        return FileResponse(zip_path, filename=zip_path.name)

    @router.get("/history")
    async def history(status: str | None = None, limit: int = 50, offset: int = 0):
        df = studio.store.history(status=status, limit=min(limit, 500), offset=offset)
        return JSONResponse(df.astype(object).where(df.notna(), None).to_dict(orient="records"))

    return router
