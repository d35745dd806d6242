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


def test_a_stopped_worker_finishes_first_and_starts_afresh_for_later_work() -> None:
    worker = background.BackgroundWorker("test-restart")
    ran: list[str] = []
    release = threading.Event()

    def held() -> None:
        release.wait(timeout=5)

    worker.submit(held)
    worker.submit(lambda: ran.append("before the stop"))
    stopping = threading.Thread(target=worker.stop)
    stopping.start()
    worker.submit(lambda: ran.append("during the stop"))  # the old queue or a new one: not lost
    release.set()
    stopping.join(timeout=10)
    assert not stopping.is_alive()  # stop() returned once the old thread had finished
    assert "before the stop" in ran
    worker.submit(lambda: ran.append("after the stop"))
    worker.stop()
    assert sorted(ran) == ["after the stop", "before the stop", "during the stop"]
