"""Overlap: decoding runs ahead of the engine and encoding behind it, each in one thread, through small
bounded queues (the only buffers: memory stays flat whatever the video's length)."""
from __future__ import annotations

import queue
import threading
from typing import Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")
_END = object()
WAIT_S = 0.1  # how often a blocked thread looks whether the other side gave up


def prefetch(items: Iterable[T], depth: int) -> Iterator[T]:
    """``items`` produced in a background thread, at most ``depth`` ahead of the consumer. An error in
    the producer is raised here; stopping early stops (and closes) the producer."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        it = iter(items)
        try:
            for item in it:
                if not _put(q, stop, item):
                    break
            _put(q, stop, _END)
        except BaseException as e:  # handed to the consumer, raised there
            _put(q, stop, e)
        finally:
            close = getattr(it, "close", None)
            if close:
                close()  # e.g. the decoder's ffmpeg and spool file

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _put(q: queue.Queue, stop: threading.Event, item) -> bool:
    """Put ``item`` unless the consumer has stopped (then False)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=WAIT_S)
            return True
        except queue.Full:
            continue
    return False


class Sink(Generic[T]):
    """``consume(item)`` for every ``put`` item, in order, in a background thread holding at most
    ``depth`` items; ``close`` waits for the last one and raises the first error the consumer hit."""

    def __init__(self, consume: Callable[[T], None], depth: int):
        self._consume = consume
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sink", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._q.get()) is not _END:
            if self._error is None:
                try:
                    self._consume(item)
                except BaseException as e:  # kept for close(); later items are drained, not consumed
                    self._error = e

    def put(self, item: T) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(item)

    def close(self) -> None:
        self.abort()
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Stop after what was put (without raising the consumer's error: the caller has its own)."""
        if self._thread.is_alive():
            self._q.put(_END)
            self._thread.join()
