"""Slow after-commit work (notification emails, audit syslog forwarding) taken off a thread that
others wait on.

The item writer (quietroom.messaging.writer) runs the commit hooks of every item in its batch;
a mail or syslog server that takes seconds to answer would hold up every sender of the process.
While `deferring()` is active in a thread, `run_or_defer` hands such work to one background
thread instead, which runs it in submission order (so forwarded audit events keep their order)
with a database connection of its own. Anywhere else it runs at once, as before.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, Generic, TypeVar

from django.db import connection

logger = logging.getLogger("quietroom")

IDLE_CLOSE_SECONDS: Final = 10.0

_deferring = threading.local()
_STOP: Final = object()
T = TypeVar("T")


@contextmanager
def deferring() -> Iterator[None]:
    _deferring.active = True
    try:
        yield
    finally:
        _deferring.active = False


class QueueThread(Generic[T]):
    """One daemon thread taking what is put on its queue, in order, with a database connection
    of its own that it closes after `IDLE_CLOSE_SECONDS` without work. Subclasses say what to
    do with each item (`handle`), and may take more waiting items at once (`take_waiting`)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[T | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # The running thread's queue and whether it has seen the stop (per thread: after stop(),
        # a put() may start a new thread while the old one finishes).
        self._run_state = threading.local()

    def put(self, item: T) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, args=(self._queue,), name=self._name, daemon=True
                )
                self._thread.start()
            self._queue.put(item)

    def stop(self) -> None:
        """Handles what was put before, then ends the thread and closes its connection. What is
        put afterwards goes to a new queue and thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            old, self._queue = self._queue, queue.SimpleQueue()
            if thread is None:
                return
            old.put(_STOP)
        thread.join()

    def handle(self, item: T) -> None:
        raise NotImplementedError

    def take_waiting(self, limit: int) -> list[T]:
        """From `handle`: up to `limit` more items already waiting, without waiting for any."""
        state = self._run_state
        more: list[T] = []
        while len(more) < limit and not state.stop_seen:
            try:
                item = state.queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                state.stop_seen = True
            else:
                more.append(item)
        return more

    def _run(self, items: queue.SimpleQueue[T | object]) -> None:
        state = self._run_state
        state.queue, state.stop_seen = items, False
        try:
            while not state.stop_seen:
                try:
                    item = items.get(timeout=IDLE_CLOSE_SECONDS)
                except queue.Empty:
                    connection.close()
                    continue
                if item is _STOP:
                    return
                self.handle(item)  # type: ignore[arg-type]  # everything else was put as a T
        finally:
            connection.close()


class BackgroundWorker(QueueThread[Callable[[], None]]):
    def submit(self, work: Callable[[], None]) -> None:
        self.put(work)

    def handle(self, item: Callable[[], None]) -> None:
        try:
            item()
        except Exception as exc:  # noqa: BLE001 - best effort, as the hook it replaces
            logger.warning("background work failed", extra={"error": type(exc).__name__})


worker = BackgroundWorker("after-commit")


def run_or_defer(work: Callable[[], None]) -> None:
    """Runs `work` now, or on the background thread while this thread is `deferring()`."""
    if getattr(_deferring, "active", False):
        worker.submit(work)
    else:
        work()
