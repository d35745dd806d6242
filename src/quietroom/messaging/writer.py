"""Group commit for conversation items: one writer thread per server process stores the items
that arrive while it is busy in one transaction, and answers each sender only after that
transaction commits.

Why: storing an item is a few milliseconds of Python, but each of its own transactions also
paid for opening a database connection, `BEGIN`, a commit with its fsync, and a hop through
Channels' one shared thread. At 50 concurrent senders those fixed costs, not the checks,
capped throughput (docs/benchmarks.md). Batching keeps every rule of a single store:

- each item is decided in its own savepoint by the same code (`store_upload`: the staff
  two-step gate, `conversation_for`, `services.store_item` with its audit row), so a refused
  item rolls back alone and leaves the others;
- nothing is acknowledged before the batch commits; if the commit fails, every item of the
  batch is answered "try again" (503) and the sender's retry with the same bytes is idempotent;
- the pushes an item's commit hooks would send are collected per item and handed back to the
  caller, which sends them from its own event loop (a socket) or thread (an HTTP request);
- the slow hooks (the notification email check, audit syslog forwarding) run on the background
  thread of quietroom.core.background, so a slow mail server delays no sender.

A caller already inside a transaction (the test client's wrapped tests, a management command)
stores inline, in its own transaction, as before: the writer's connection could not see it.
"""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

from django.db import DatabaseError, connection, transaction

from quietroom.accounts.mfa_gate import needs_second_factor
from quietroom.accounts.models import User
from quietroom.audit.services import Origin, chain_locked
from quietroom.core import background
from quietroom.core.background import QueueThread
from quietroom.messaging import realtime, services
from quietroom.messaging.access import conversation_for

logger = logging.getLogger("quietroom.messaging")

# Items per transaction: enough to amortise the commit at 50 busy senders, small enough that
# the first sender of a batch does not wait long for the last item's checks.
BATCH_MAX: Final = 32
# A safety net, far above any real batch (SQLite gives up on a lock after 20 s): a sender is
# never held forever by a stuck database. Past it the sender hears "try again"; should the item
# commit after all, the retry gets its Ack and recipients fetch it on their next catch-up.
WAIT_SECONDS: Final = 120.0

Push = tuple[str, dict[str, Any]]


@dataclass
class Written:
    """The outcome of one item upload: `status` 201 (stored), 200 (a retry of a stored item)
    or the refusal's status, with `code` and `message`; `pushes` are the channel-layer
    messages to send now that it is committed (empty when stored inline: its own commit
    hooks send them)."""

    status: int
    ack: services.Ack | None = None
    code: str = ""
    message: str = ""
    pushes: list[Push] = field(default_factory=list)

    @classmethod
    def refused(cls, status: int, code: str, message: str) -> Written:
        return cls(status, code=code, message=message)


NOT_FOUND: Final = ("not_found", "Nothing was found here.")
UNAVAILABLE: Final = ("unavailable", "The message could not be stored just now. Send it again.")
SERVER_ERROR: Final = ("server_error", "Something went wrong on the server. Nothing was changed.")


def store_upload(
    user: User, client_id: UUID, data: bytes, origin: Origin, *, second_factor_checked: bool
) -> Written:
    """Decides and stores one upload in the caller's transaction: the same steps for the
    socket and HTTP. `second_factor_checked`: the HTTP middleware has applied the staff
    two-step gate already; the socket is not behind it."""
    if not second_factor_checked and needs_second_factor(user):
        return Written.refused(
            403, "mfa_required", "Set up two-step verification before using Quietroom."
        )
    access = conversation_for(user, client_id, action="conversation.item.created", origin=origin)
    if access is None:
        return Written.refused(404, *NOT_FOUND)
    try:
        # Every caller runs this in a savepoint of its own (the writer's per item, `write`'s),
        # which a refusal rolls back: the store need not make another.
        ack, created = services.store_item(access, data, origin, savepoint=False)
    except services.Refused as exc:
        return Written.refused(exc.status, exc.code, exc.message)
    return Written(201 if created else 200, ack)


@dataclass
class Job:
    user: User
    client_id: UUID
    data: bytes
    origin: Origin
    second_factor_checked: bool
    future: Future[Written] = field(default_factory=Future)
    pushes: list[Push] = field(default_factory=list)


def _resolve(job: Job, written: Written) -> None:
    # A sender that gave up waiting (WAIT_SECONDS) has cancelled its future.
    with contextlib.suppress(InvalidStateError):
        job.future.set_result(written)


class ItemWriter(QueueThread[Job]):
    def __init__(self) -> None:
        super().__init__("item-writer")

    def submit(
        self,
        user: User,
        client_id: UUID,
        data: bytes,
        origin: Origin,
        *,
        second_factor_checked: bool = False,
    ) -> Future[Written]:
        job = Job(user, client_id, data, origin, second_factor_checked)
        self.put(job)
        return job.future

    def handle(self, item: Job) -> None:
        # Everything that arrived while the last batch was being written joins this one.
        self.write_batch([item, *self.take_waiting(BATCH_MAX - 1)])

    def write_batch(self, batch: list[Job]) -> None:
        """Stores `batch` in one transaction and resolves each job's future."""
        results: list[Written] = []
        committed = False

        def mark_committed() -> None:
            nonlocal committed
            committed = True

        try:
            with (
                realtime.collecting(),
                background.deferring(),
                transaction.atomic(),
                chain_locked(),
            ):
                transaction.on_commit(mark_committed)  # the first hook: runs only after commit
                results.extend(self._one(job) for job in batch)
        except Exception as exc:  # noqa: BLE001 - answered below, whatever failed
            if committed:
                # A later commit hook failed (audit forwarding, say): the items are stored, so
                # they are acknowledged; pushes not collected are fetched on catch-up.
                logger.warning("item batch hook failed", extra={"error": type(exc).__name__})
            else:
                logger.warning("item batch not stored", extra={"error": type(exc).__name__})
                with contextlib.suppress(Exception):
                    connection.close()  # a broken connection is replaced on the next batch
                for job in batch:
                    _resolve(job, Written.refused(503, *UNAVAILABLE))
                return
        for job, written in zip(batch, results, strict=True):
            written.pushes = job.pushes
            _resolve(job, written)

    @staticmethod
    def _one(job: Job) -> Written:
        try:
            with transaction.atomic():
                # Commit hooks run in registration order, so this one sends the pushes of the
                # hooks registered after it (this item's) to this job. A rolled-back item's
                # hooks are dropped with it.
                transaction.on_commit(lambda: realtime.collect_into(job.pushes))
                # A refusal has written nothing but, for a denied access, its audit row,
                # which commits with the batch.
                return store_upload(
                    job.user,
                    job.client_id,
                    job.data,
                    job.origin,
                    second_factor_checked=job.second_factor_checked,
                )
        except DatabaseError as exc:
            # This item alone failed (its savepoint is rolled back); the others go on.
            logger.warning("item not stored", extra={"error": type(exc).__name__})
            return Written.refused(503, *UNAVAILABLE)
        except Exception as exc:  # noqa: BLE001 - answered as a 500, as the middleware would
            # A fault in one item's store must not cost the others theirs: it is rolled back
            # alone and answered as the HTTP middleware answers an unhandled error.
            logger.error("item not stored", extra={"error": type(exc).__name__})  # noqa: TRY400 - no traceback: locals may hold sealed data
            return Written.refused(500, *SERVER_ERROR)


_writer = ItemWriter()


# Queues an upload for the writer thread; the future resolves after its batch commits.
submit = _writer.submit


def write(
    user: User, client_id: UUID, data: bytes, origin: Origin, *, second_factor_checked: bool
) -> Written:
    """Stores an upload from synchronous code and sends its pushes. Inline when the caller is
    inside a transaction already (its rows are invisible to the writer's connection)."""
    if connection.in_atomic_block:
        with transaction.atomic():
            return store_upload(
                user, client_id, data, origin, second_factor_checked=second_factor_checked
            )
    future = submit(user, client_id, data, origin, second_factor_checked=second_factor_checked)
    try:
        written = future.result(timeout=WAIT_SECONDS)
    except TimeoutError:
        return Written.refused(503, *UNAVAILABLE)
    realtime.send_all(written.pushes)
    return written


def stop() -> None:
    _writer.stop()
