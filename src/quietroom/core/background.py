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
from typing import Final

from django.db import connection

logger = logging.getLogger("quietroom")

IDLE_CLOSE_SECONDS: Final = 10.0

_deferring = threading.local()


@contextmanager
def deferring() -> Iterator[None]:
    _deferring.active = True
    try:
        yield
    finally:
        _deferring.active = False


class BackgroundWorker:
    """One daemon thread running submitted work in order; it closes its database connection
    after `IDLE_CLOSE_SECONDS` without work."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(work)

    def stop(self) -> None:
        """Runs what was submitted, then ends the thread and closes its connection."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._queue.put(None)
        thread.join()

    def _run(self) -> None:
        try:
            while True:
                try:
                    work = self._queue.get(timeout=IDLE_CLOSE_SECONDS)
                except queue.Empty:
                    connection.close()
                    continue
                if work is None:
                    return
                try:
                    work()
                except Exception as exc:  # noqa: BLE001 - best effort, as the hook it replaces
                    logger.warning("background work failed", extra={"error": type(exc).__name__})
        finally:
            connection.close()


worker = BackgroundWorker("after-commit")


def run_or_defer(work: Callable[[], None]) -> None:
    """Runs `work` now, or on the background thread while this thread is `deferring()`."""
    if getattr(_deferring, "active", False):
        worker.submit(work)
    else:
        work()
