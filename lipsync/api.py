"""Plain HTTP API for systems that do not speak Gradio (a thin shell over the Studio)."""
from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
from pathlib import Path
from typing import Callable

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel

from .errors import LipsyncError
from .i18n import msg
from .jobs import Ticket
from .jobs.audit import Actor
from .jobs.store import error_msg
from .studio import Studio
from .uploads import Upload
from .views import BatchView, ItemView


def _download_url(base: str, output: Path) -> str:
    return f"{base}api/v1/files/{output.parent.name}/{output.name}"


def ticket_json(view: BatchView, base: str) -> dict:
    """Status of a submitted job: state, queue position, progress, items with download links."""
    out = {"job_id": view.job_id, "state": view.state, "queue_position": view.queue_position,
           "status_url": f"{base}api/v1/jobs/{view.job_id}", "message": view.headline().replace("**", "")}
    if view.state != "queued":
        out["progress"] = {"item": view.item, "items": view.n_items, "stage": view.stage,
                           "overall": view.overall, "message": str(view.message)}
    out["items"] = [_item_json(i, base) for i in view.items]
    if view.batch:
        out["batch"] = view.batch
    if view.zip_path:
        out["zip_url"] = f"{base}api/v1/batches/{view.batch}/zip"
    if view.error:
        out["error"], out["code"] = str(view.error), view.error.key
    return out


def _item_json(item: ItemView, base: str) -> dict:
    data = item.to_json()
    if item.output:
        data["download_url"] = _download_url(base, item.output)
    return data


def refused(status: int, error: LipsyncError) -> JSONResponse:
    """An answer saying why a request was refused: English text (scripts must not depend on the
    server's language) and the stable code."""
    return JSONResponse({"error": str(error), "code": error.code}, status_code=status)


def submit_refused(error: LipsyncError) -> JSONResponse:
    """A refused submission: 507 when the disk is nearly full (retry after cleaning up), else 400."""
    return refused(507 if error.code == "err.disk_low" else 400, error)


_BASIC = HTTPBasic(auto_error=False)


def who(request: Request, creds: HTTPBasicCredentials | None = Depends(_BASIC)) -> Actor:
    """The caller for the audit log: the basic-auth user (checked by the router) and the address."""
    return Actor(creds.username if creds else None, request.client.host if request.client else None)


def basic_auth_dependency(credentials: list[tuple[str, str]] | None) -> Callable:
    """HTTP basic auth with the app's login (Gradio's own login does not cover these routes)."""
    def check(creds: HTTPBasicCredentials | None = Depends(_BASIC)) -> None:
        if not credentials:
            return
        if creds is not None:
            for user, pw in credentials:
                if secrets.compare_digest(creds.username.encode(), user.encode()) and \
                        secrets.compare_digest(creds.password.encode(), pw.encode()):
                    return
        raise HTTPException(401, str(msg("err.login_required")), headers={"WWW-Authenticate": "Basic"})

    return check


def build_router(studio: Studio, credentials: list[tuple[str, str]] | None = None) -> APIRouter:
    """Routes under /api/v1 (generate single / batch, job status, downloads, history)."""
    router = APIRouter(prefix="/api/v1", dependencies=[Depends(basic_auth_dependency(credentials))])
    _generate_routes(router, studio)
    _job_routes(router, studio)
    _review_routes(router, studio, credentials)
    return router


def _generate_routes(router: APIRouter, studio: Studio) -> None:
    """Uploads in, jobs queued: generate single (waits) and batch (answers at once)."""
    async def receive(upload: UploadFile) -> Upload:
        with tempfile.NamedTemporaryFile(delete=False, dir=studio.settings.data_dir) as tmp:
            received = Upload(Path(tmp.name), upload.filename or "upload", owned=True)
            try:
                while chunk := await upload.read(1 << 20):
                    tmp.write(chunk)
            except BaseException:  # e.g. the disk filled up while writing: no stray half file left behind
                received.path.unlink(missing_ok=True)
                raise
        return received

    async def submit(audio: UploadFile, videos: list[UploadFile], engine: str | None, face: int | None,
                     actor: Actor) -> Ticket:
        """Queue the job; raises LipsyncError (answered with 400) when the engine cannot run."""
        studio.settings.data_dir.mkdir(parents=True, exist_ok=True)
        options = studio.options(engine, face=face)
        studio.check_space()  # before the uploads are received
        received: list[Upload] = []
        try:
            for upload in [audio, *videos]:
                received.append(await receive(upload))
            # keeping the files (moved into place) and hashing them for the audit log is not for the event loop
            return await asyncio.to_thread(studio.submit_uploads, received[0], received[1:], options, "http",
                                           actor)
        finally:
            for upload in received:
                upload.path.unlink(missing_ok=True)

    @router.post("/generate/single")
    async def generate_single(request: Request, audio: UploadFile = File(...), video: UploadFile = File(...),
                              engine: str | None = Form(None), face: int | None = Form(None),
                              actor: Actor = Depends(who)):
        """Lip-sync one template to one audio; waits for the result (queued behind other jobs)."""
        try:
            ticket = await submit(audio, [video], engine, face, actor)
        except LipsyncError as e:
            return submit_refused(e)
        await asyncio.to_thread(ticket.wait)
        base = str(request.base_url)
        if ticket.state != "done":
            return JSONResponse({"status": "failed", "error": str(ticket.error), "code": ticket.error.key},
                                status_code=500)
        batch = ticket.result
        item = batch.items[0]
        body = item.to_json(batch.folder)
        if item.output:
            body["download_url"] = _download_url(base, item.output)
        body["batch"] = batch.folder.name
        return JSONResponse(body, status_code=200 if item.status == "done" else 422)

    @router.post("/generate/batch", status_code=202)
    async def generate_batch(request: Request, audio: UploadFile = File(...),
                             videos: list[UploadFile] = File(...), engine: str | None = Form(None),
                             face: int | None = Form(None), actor: Actor = Depends(who)):
        """Queue one audio x many templates; poll ``status_url``."""
        try:
            ticket = await submit(audio, videos, engine, face, actor)
        except LipsyncError as e:
            return submit_refused(e)
        return ticket_json(studio.view(ticket), str(request.base_url))



class ReviewIn(BaseModel):
    decision: str
    note: str = ""


class RerunIn(BaseModel):
    engine: str | None = None


def _review_routes(router: APIRouter, studio: Studio, credentials: list[tuple[str, str]] | None) -> None:
    """A reviewer's decision on one finished video (the login name is recorded when login is on)."""
    @router.post("/items/{job_id}/review")
    async def review(job_id: str, body: ReviewIn, actor: Actor = Depends(who)):
        try:
            row = studio.review(job_id, body.decision, body.note, actor.user if credentials else None, actor.client)
        except LipsyncError as e:
            return refused(404 if e.code == "err.nothing_to_review" else 400, e)
        return {"job_id": job_id, "review": row["review"], "review_note": row["review_note"],
                "reviewer": row["reviewer"], "reviewed": row["reviewed"]}

    @router.post("/items/{job_id}/rerun", status_code=202)
    async def rerun(request: Request, job_id: str, body: RerunIn | None = None, actor: Actor = Depends(who)):
        """Make one video again (optionally with another engine); its old version stays until it is done."""
        try:
            ticket = studio.rerun(job_id, body.engine if body else None, actor)
        except LipsyncError as e:
            return refused(404 if e.code == "err.no_such_job" else 400, e)
        return ticket_json(studio.view(ticket), str(request.base_url))


def _job_routes(router: APIRouter, studio: Studio) -> None:
    """Job status, resume, downloads and history."""
    @router.post("/batches/{batch}/resume", status_code=202)
    async def resume_batch(request: Request, batch: str):
        """Run the unfinished items of a batch again (after a crash); finished ones are skipped."""
        try:
            ticket = studio.resume(batch)
        except LipsyncError as e:
            return refused(404, e)
        return ticket_json(studio.view(ticket), str(request.base_url))

    @router.get("/health")
    async def health():
        """Embedded mode, or the workers connected to the broker (name, device, host)."""
        if studio.remote is None:
            return {"mode": "embedded", "workers": []}
        try:
            workers = await asyncio.to_thread(studio.remote.workers)
        except Exception as e:  # the broker is down: say so, quickly
            return JSONResponse({"mode": "workers", "broker": "unreachable", "error": str(e), "workers": []},
                                status_code=503)
        return {"mode": "workers", "broker": "ok", "workers": workers}

    @router.get("/batches/resumable")
    async def resumable():
        """Batches that have interrupted items."""
        return {"batches": studio.resumable_batches()}

    @router.get("/jobs/{job_id}")
    async def job_status(request: Request, job_id: str):
        ticket = studio.ticket(job_id)
        if ticket is None or ticket.kind == "check":
            raise HTTPException(404, str(msg("err.no_such_job", job=job_id)))
        return ticket_json(studio.view(ticket), str(request.base_url))

    @router.get("/files/{batch}/{name}")
    async def download(batch: str, name: str, actor: Actor = Depends(who)):
        path = studio.resolve_output(batch, name)
        if path is None:
            raise HTTPException(404, str(msg("err.no_such_result")))
        await asyncio.to_thread(studio.record_download, path, actor)
        return FileResponse(path, filename=path.name)

    @router.get("/batches/{batch}/zip")
    async def download_zip(batch: str, approved: bool = False, actor: Actor = Depends(who)):
        """All finished videos of a batch as ZIP, or (``?approved=1``) exactly the approved ones."""
        zip_path = (await asyncio.to_thread(studio.approved_zip, batch)) if approved else studio.resolve_zip(batch)
        if zip_path is None:
            raise HTTPException(404, str(msg("err.no_zip")))
        await asyncio.to_thread(studio.record_download, zip_path, actor)
        return FileResponse(zip_path, filename=zip_path.name)

    @router.get("/audit")
    async def audit(since: str | None = Query(None, alias="from"), until: str | None = Query(None, alias="to"),
                    format: str = "json"):
        """The audit log, optionally from / to a day (YYYY-MM-DD); ``format=csv`` for a spreadsheet."""
        df = studio.audit.rows(since, until)
        if format == "csv":
            return Response(df.to_csv(index=False), media_type="text/csv; charset=utf-8")
        return JSONResponse(df.astype(object).where(df.notna(), None).to_dict(orient="records"))

    @router.get("/history")
    async def history(status: str | None = None, review: str | None = None, limit: int = 50, offset: int = 0):
        df = studio.history(status=status, review=review, limit=min(limit, 500), offset=offset)
        rows = df.astype(object).where(df.notna(), None).to_dict(orient="records")
        for row in rows:  # the stored message becomes its stable code; the check becomes an object
            error = error_msg(row)
            row["error_code"] = error.key if error and row.get("error_code") else None
            row["qc"] = json.loads(row["qc"]) if row.get("qc") else None
        return JSONResponse(rows)

