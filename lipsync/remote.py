"""Scale-out: the items of a batch go to Celery workers (``python -m lipsync.worker``) through Redis.

The app stays the only writer of the history: it sends each item's ``JobSpec`` (paths on the shared
folder), follows the workers' progress, and records each result as it comes back. A task's id is its
job id, so an item whose worker finished while the app was down is picked up, and one still waiting in
the queue or being made is followed: nothing is made twice. A worker killed mid-item leaves its task
unacknowledged and Redis hands it to another worker.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings
from .i18n import Msg, msg
from .pipeline import JobResult, Progress

if TYPE_CHECKING:
    from .batch import BatchProgressFn, BatchResult, BatchRun

log = logging.getLogger("lipsync.remote")
TASK = "lipsync.render_item"
POLL_S = 0.25            # how often the app looks at its items' states
HEARTBEAT_KEY = "lipsync:worker:"  # + worker name: what each worker announces (device, host), with a TTL
QUEUE_KEY = "celery"     # Celery's default queue: the Redis list of tasks not yet taken
UNACKED_KEY = "unacked"  # kombu's Redis hash of tasks taken but not yet acknowledged (late ack: being made)


def celery_app(settings: Settings):
    """The Celery app both sides use: late acknowledgement (a killed worker's job goes to another),
    one job at a time per worker, JSON only, results kept a week in Redis."""
    from celery import Celery

    app = Celery("lipsync", broker=settings.broker_url, backend=settings.broker_url)
    transport = {"visibility_timeout": settings.visibility_timeout}
    app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
                    task_serializer="json", result_serializer="json", accept_content=["json"],
                    result_expires=7 * 86400, broker_transport_options=transport,
                    result_backend_transport_options=transport, broker_connection_retry_on_startup=True,
                    broker_connection_timeout=3, redis_socket_connect_timeout=3, redis_socket_timeout=10,
                    task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
                    task_track_started=True, worker_hijack_root_logger=False)
    return app


class RemoteItems:
    """Runs a batch's items on the workers, all at once, recording each as it finishes."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.app = celery_app(settings)

    def run(self, run: BatchRun, batch: BatchResult, todo: list[int], progress: BatchProgressFn | None) -> None:
        from .batch import reporter

        waiting: dict[int, tuple[object, float]] = {}
        alive: set[str] | None = None
        for n in todo:
            item = batch.items[n]
            run.start_item(item, reporter(progress, n, batch))
            try:
                alive = self._alive_tasks() if alive is None else alive
                waiting[n] = (self._send(run, batch, n, alive), time.perf_counter())
            except Exception as e:  # the broker is down: say so now, never wait forever
                log.error("cannot reach the broker: %s", e)
                run.finish_item(batch, item, None, msg("err.broker_down", detail=type(e).__name__), 0.0,
                                reporter(progress, n, batch))
        while waiting:
            for n, (task, t0) in sorted(waiting.items()):
                report = reporter(progress, n, batch)
                if task.ready():
                    del waiting[n]
                    result, error = self._outcome(task)
                    run.finish_item(batch, batch.items[n], result, error, time.perf_counter() - t0, report)
                elif task.state == "PROGRESS" and isinstance(task.info, dict):
                    report(Progress(task.info.get("stage", "lip-syncing"), task.info.get("fraction", 0.0),
                                    Msg.from_json(task.info["message"]) if task.info.get("message") else
                                    msg("common.empty")))
            time.sleep(POLL_S)

    def _send(self, run: BatchRun, batch: BatchResult, n: int, alive: set[str]):
        """The item's task (its id is the job id): an earlier run of it that finished, or that still waits
        in the queue or is being made (the app restarted meanwhile), is followed instead of sent again."""
        item = batch.items[n]
        task = self.app.AsyncResult(item.job_id)
        if task.state == "SUCCESS" and Path(item.planned).is_file():
            return task  # a worker finished it while the app was away
        if item.job_id in alive:
            return task
        task.forget()
        return self.app.send_task(TASK, args=[run.spec(batch, item).to_json()], task_id=item.job_id)

    @staticmethod
    def _outcome(task) -> tuple[JobResult | None, Msg | None]:
        if task.failed():
            return None, msg("err.worker_failed", detail=f"{type(task.result).__name__}: {task.result}")
        data = task.result or {}
        if data.get("error"):
            return None, Msg.from_json(data["error"])
        return JobResult.from_json({**data["result"], "worker": data.get("worker", "")}), None

    def _alive_tasks(self) -> set[str]:
        """Ids of the tasks in the broker: waiting in the queue or taken by a worker and not yet done."""
        import json

        r = self._redis()
        # queued: the message itself; unacknowledged: [message, exchange, routing key]
        found = [(raw, False) for raw in r.lrange(QUEUE_KEY, 0, -1)] + [(raw, True) for raw in r.hvals(UNACKED_KEY)]
        ids = set()
        for raw, taken in found:
            try:
                message = json.loads(raw)
                ids.add((message[0] if taken else message)["headers"]["id"])
            except (ValueError, KeyError, TypeError, IndexError):  # not a Celery task message: not ours
                continue
        return ids

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.settings.broker_url, socket_connect_timeout=2, socket_timeout=2)

    def workers(self) -> list[dict]:
        """The workers that announced themselves in the last seconds (name, device, host, jobs done)."""
        import json

        r = self._redis()
        keys = list(r.scan_iter(HEARTBEAT_KEY + "*"))
        found = r.mget(keys) if keys else []  # one round trip; a key that expired meanwhile is None
        return sorted((json.loads(v) for v in found if v), key=lambda w: w["name"])
