"""One worker thread runs jobs one at a time on the model's device, whoever submitted them
(web UI, HTTP API); tickets report queue position and progress."""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import LipsyncError
from ..i18n import Msg, msg

log = logging.getLogger("lipsync.jobs")


@dataclass
class Ticket:
    """A submitted job: its state, position in the queue, latest progress, result or error."""

    id: str
    kind: str
    state: str = "queued"              #: queued, running, done, failed
    progress: Any = None
    result: Any = None
    error: Msg | None = None          #: why it failed (``str()`` is the English text)
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    seq: int = 0
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def is_finished(self) -> bool:
        return self._done.is_set()


class JobRunner:
    """FIFO of callables ``fn(ticket)`` executed by one daemon thread."""

    def __init__(self, keep: int = 1000):
        self._queue: queue.Queue = queue.Queue()
        self._tickets: dict[str, Ticket] = {}
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._keep = keep
        self._thread = threading.Thread(target=self._work, name="lipsync-worker", daemon=True)
        self._thread.start()

    def submit(self, kind: str, fn: Callable[[Ticket], Any]) -> Ticket:
        """Queue ``fn``; it runs exactly once, after everything submitted before it."""
        ticket = Ticket(id=uuid.uuid4().hex[:16], kind=kind, seq=next(self._order))
        with self._lock:
            self._tickets[ticket.id] = ticket
            self._trim()
        self._queue.put((ticket, fn))
        return ticket

    def get(self, ticket_id: str) -> Ticket | None:
        with self._lock:
            return self._tickets.get(ticket_id)

    def tickets(self) -> list[Ticket]:
        """Every ticket still remembered (the last ``keep``), oldest first."""
        with self._lock:
            return sorted(self._tickets.values(), key=lambda t: t.seq)

    def position(self, ticket: Ticket) -> int:
        """0 while running or finished; otherwise how many jobs run before it, plus one."""
        if ticket.state != "queued":
            return 0
        with self._lock:
            return 1 + sum(1 for t in self._tickets.values()
                           if t.state in ("queued", "running") and t.seq < ticket.seq)

    def pending(self) -> int:
        with self._lock:
            return sum(1 for t in self._tickets.values() if t.state in ("queued", "running"))

    def _trim(self) -> None:
        done = [t for t in self._tickets.values() if t.is_finished]
        for t in sorted(done, key=lambda t: t.seq)[: max(0, len(self._tickets) - self._keep)]:
            del self._tickets[t.id]

    def _work(self) -> None:
        while True:
            ticket, fn = self._queue.get()
            ticket.state, ticket.started = "running", time.time()
            try:
                ticket.result = fn(ticket)
                ticket.state = "done"
            except LipsyncError as e:  # a refusal the person is told about (bad input), not a crash
                log.warning("job %s refused: %s", ticket.id, e)
                ticket.state, ticket.error = "failed", e.msg
            except Exception as e:  # the worker must survive anything a job does
                log.exception("job %s failed", ticket.id)
                ticket.state, ticket.error = "failed", msg("err.job_crashed", detail=f"{type(e).__name__}: {e}")
            finally:
                ticket.finished = time.time()
                ticket._done.set()
