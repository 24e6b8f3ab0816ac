"""Lip-sync studio web app: Gradio UI + HTTP API on one port (default 127.0.0.1:7860)."""
from __future__ import annotations

import argparse
import logging
import os

# Privacy: no analytics / version checks (must be set before gradio is imported).
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from pathlib import Path  # noqa: E402

from lipsync.config import Settings, folder  # noqa: E402
from lipsync.logs import setup_logging  # noqa: E402
from lipsync.process import init_process  # noqa: E402

log = logging.getLogger("lipsync.app")


def parse_args(argv=None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description="Local lip-sync studio (web app).")
    p.add_argument("--host", default=env("LIPSYNC_HOST", "127.0.0.1"),
                   help="address to listen on (0.0.0.0 for the whole LAN; default 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(env("LIPSYNC_PORT", "7860")))
    p.add_argument("--user", default=env("LIPSYNC_USER"), help="login name (enables login)")
    p.add_argument("--password", default=env("LIPSYNC_PASSWORD"), help="login password")
    p.add_argument("--password-file", default=env("LIPSYNC_PASSWORD_FILE"),
                   help="file whose first line is the login password (not visible in the process list)")
    p.add_argument("--outputs", default=folder("LIPSYNC_OUTPUTS", "outputs"),
                   help="folder for results (default: outputs, or $LIPSYNC_SHARED_DIR/outputs)")
    p.add_argument("--data", default=folder("LIPSYNC_DATA", "data"),
                   help="folder for history, uploads, caches, logs (default: data, or $LIPSYNC_SHARED_DIR/data)")
    p.add_argument("--engine", default=env("LIPSYNC_ENGINE", "builtin"), help="default engine")
    p.add_argument("--device", default=env("LIPSYNC_DEVICE", "auto"), help="auto, cpu, cuda, cuda:1")
    p.add_argument("--lang", default=env("LIPSYNC_LANG", "auto"), choices=["auto", "zh", "en"],
                   help="language of the web pages: zh, en, or auto (each browser's language; default)")
    p.add_argument("--keep-days", type=int, default=int(env("LIPSYNC_KEEP_DAYS", "0")),
                   help="archive (or delete) batches older than this many days, once a day (0 = keep all)")
    p.add_argument("--archive", default=env("LIPSYNC_ARCHIVE_DIR", ""),
                   help="folder old batches are moved to (without it they are deleted)")
    p.add_argument("--broker", default=env("LIPSYNC_BROKER_URL", ""),
                   help="redis://host:6379/0: send every item to Celery workers (python -m lipsync.worker)")
    p.add_argument("--max-upload-mb", type=int, default=int(env("LIPSYNC_MAX_UPLOAD_MB", "2048")),
                   help="largest accepted upload in MB (web page and HTTP API)")
    return p.parse_args(argv)


def build_app(args: argparse.Namespace):
    """The FastAPI app serving the Gradio UI at / and the HTTP API at /api/v1."""
    import gradio as gr
    from fastapi import FastAPI

    from lipsync.api import build_router
    from lipsync.i18n import languages, t
    from lipsync.jobs.audit import Actor
    from lipsync.limits import LoginLimit, UploadLimit
    from lipsync.studio import Studio
    from lipsync.ui import build_ui
    from lipsync.web_audit import DownloadAudit

    settings = Settings(outputs_dir=Path(args.outputs), data_dir=Path(args.data), engine=args.engine,
                        device=args.device, max_upload_mb=args.max_upload_mb, lang=args.lang,
                        keep_days=args.keep_days, broker_url=args.broker,
                        archive_dir=Path(args.archive) if args.archive else None)
    setup_logging(settings.data_dir / "logs")
    studio = Studio(settings)
    studio.recover()  # jobs a crash cut off become resumable; half-written files go
    if settings.keep_days > 0:
        studio.start_daily_housekeeping()
    password = args.password
    if args.password_file:
        password = Path(args.password_file).read_text(encoding="utf-8").splitlines()[0].strip()
    creds = [(args.user, password)] if args.user and password else None
    app = FastAPI(title="Lip-sync studio API", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(build_router(studio, creds))
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "monospace"])
    settings.outputs_dir.mkdir(parents=True, exist_ok=True)
    # the login page is Gradio's: its message is the one text on it we control, in both languages
    login = " / ".join(t(lang, "page.login") for lang in reversed(languages()))
    app = gr.mount_gradio_app(app, build_ui(studio), path="", auth=creds, auth_message=login, theme=theme,
                              allowed_paths=[str(settings.outputs_dir.resolve())], footer_links=["api"],
                              ssr_mode=False, mcp_server=False, max_file_size=f"{settings.max_upload_mb}mb")
    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_mb * 2**20, prefix="/api/v1/")
    app.add_middleware(DownloadAudit, on_download=lambda path, host: studio.record_download(path, Actor(client=host)))
    if creds:
        app.add_middleware(LoginLimit, on_failure=lambda host: studio.audit.record("login_failure",
                                                                                   Actor(client=host)))
    return app, studio


def main(argv=None) -> None:
    import uvicorn

    args = parse_args(argv)
    init_process()
    app, _ = build_app(args)
    log.info("Lip-sync studio on http://%s:%d", args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_keep_alive=30)


if __name__ == "__main__":
    main()
