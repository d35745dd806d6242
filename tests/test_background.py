"""quietroom.core.background: after-commit work runs at once, except while a thread is
deferring it (the item writer), when one background thread runs it in submission order."""

from __future__ import annotations

import threading

from quietroom.core import background


def test_work_runs_at_once_unless_deferred_then_in_order_on_one_thread() -> None:
    ran: list[tuple[str, str]] = []

    def note(label: str) -> None:
        ran.append((label, threading.current_thread().name))

    def fail() -> None:
        raise RuntimeError("the mail server is down")

    background.run_or_defer(lambda: note("now"))
    assert ran == [("now", threading.current_thread().name)]

    worker = background.BackgroundWorker("test-worker")
    background.worker, real = worker, background.worker
    try:
        with background.deferring():
            background.run_or_defer(lambda: note("first"))
            background.run_or_defer(fail)  # logged; the rest still runs
            background.run_or_defer(lambda: note("second"))
        worker.stop()  # runs what was submitted first
    finally:
        background.worker = real
    assert ran[1:] == [("first", "test-worker"), ("second", "test-worker")]

    background.run_or_defer(lambda: note("after"))  # no longer deferring
    assert ran[-1] == ("after", threading.current_thread().name)
