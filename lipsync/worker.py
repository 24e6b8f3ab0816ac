"""A render worker for the scale-out mode: ``python -m lipsync.worker --broker redis://host:6379/0``.

One job at a time (solo pool: the engines stay loaded in this process), one worker per GPU
(``--device cuda:1``). Inputs and outputs are paths on the shared folder, the same on every machine; the
output is written under a temporary name and renamed when complete, so a job delivered twice (its first
worker was killed) never leaves two files or a half-written one. The worker announces itself in Redis
every few seconds (name, device, host) for the app's health page.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import threading
import time

from .config import Settings
from .errors import LipsyncError
from .i18n import msg
from .pipeline import JobSpec, Progress, run_job
from .remote import HEARTBEAT_KEY, TASK, celery_app
from .runtime import Runtime

log = logging.getLogger("lipsync.worker")
HEARTBEAT_S = 5.0     # how often a worker says it is alive
HEARTBEAT_TTL_S = 15  # gone from the health page this long after its last word
PROGRESS_EVERY_S = 0.5  # progress updates sent to the app at most this often


def render_item(task, spec: dict, runtime: Runtime, name: str) -> dict:
    """Run one job; an expected failure comes back as a message (the app records it), not a retry."""
    last = [0.0]

    def report(p: Progress) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            task.update_state(state="PROGRESS", meta={"stage": p.stage, "fraction": p.fraction,
                                                      "message": p.message.to_json()})

    try:
        result = run_job(JobSpec.from_json(spec), runtime, report)
    except LipsyncError as e:
        return {"error": e.msg.to_json(), "worker": name}
    except Exception as e:  # the app shows it as this item's failure; the worker's log has the traceback
        log.exception("job %s crashed", task.request.id)
        return {"error": msg("err.worker_failed", detail=f"{type(e).__name__}: {e}").to_json(),
                "worker": name}
    return {"result": result.to_json(), "worker": name}


def announce(settings: Settings, name: str) -> threading.Thread:
    """A daemon thread that keeps this worker's entry in Redis alive."""
    import redis

    info = json.dumps({"name": name, "device": settings.device, "host": socket.gethostname(), "pid": os.getpid()})

    def loop() -> None:
        r = redis.Redis.from_url(settings.broker_url, socket_connect_timeout=2, socket_timeout=2)
        while True:
            try:
                r.set(HEARTBEAT_KEY + name, info, ex=HEARTBEAT_TTL_S)
            except redis.RedisError as e:
                log.warning("cannot announce this worker: %s", e)
            time.sleep(HEARTBEAT_S)

    thread = threading.Thread(target=loop, name="heartbeat", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> None:
    from .logs import setup_logging
    from .process import init_process

    p = argparse.ArgumentParser(prog="python -m lipsync.worker", description=__doc__.splitlines()[0])
    p.add_argument("--broker", default=os.environ.get("LIPSYNC_BROKER_URL", "redis://127.0.0.1:6379/0"))
    p.add_argument("--device", default=os.environ.get("LIPSYNC_DEVICE", "auto"), help="auto, cpu, cuda, cuda:1")
    p.add_argument("--name", default=f"lipsync-{socket.gethostname()}-{os.getpid()}", help="worker name")
    args = p.parse_args(argv)
    init_process()
    settings = Settings(broker_url=args.broker, device=args.device)
    setup_logging(settings.data_dir / "logs", console=logging.INFO)
    runtime = Runtime(settings)  # engines, face and audio caches: loaded once, kept for every job
    app = celery_app(settings)
    def render(task, spec: dict) -> dict:  # Celery wants a named function
        return render_item(task, spec, runtime, args.name)

    app.task(name=TASK, bind=True, acks_late=True)(render)
    announce(settings, args.name)
    log.info("worker %s on %s, broker %s", args.name, args.device, args.broker)
    app.worker_main(["worker", "--pool=solo", "--concurrency=1", f"--hostname={args.name}@%h", "--loglevel=INFO",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"])


if __name__ == "__main__":
    main()
