"""The one way anything is written to the audit trail.

`record_event` must be called inside the transaction of the action it records, so that the
action and its audit row commit together or not at all (AUD-04). Writers are serialised while
they append: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the write lock
every transaction takes at BEGIN IMMEDIATE. So the chain never forks, whatever the number of
workers.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from quietroom.accounts.models import User
from quietroom.audit import chain, forwarding, keys
from quietroom.audit.models import AuditCheckpoint, AuditEvent, Outcome
from quietroom.core.rows import insert_row
from quietroom.practices.models import Membership, Practice

logger = logging.getLogger("quietroom.audit")

CHECKPOINT_EVERY = 1000
# Any 64-bit constant works; this one spells "qraudit" and is used for nothing else.
ADVISORY_LOCK_KEY = 0x7172617564697400


class AuditOutsideTransactionError(RuntimeError):
    """An audit row written outside the action's transaction could outlive a rolled-back
    action, or be lost while the action commits."""


@dataclass(frozen=True)
class Origin:
    """Where a request came from, reduced to what the audit trail may keep."""

    address: str = ""
    user_agent: str = ""

    @classmethod
    def of(cls, request: HttpRequest | None) -> Origin:
        if request is None:
            return cls()
        return cls(
            address=coarse_address(request.META.get("REMOTE_ADDR", "")),
            user_agent=request.headers.get("User-Agent", "")[:200],
        )


def coarse_address(raw: str) -> str:
    """The network, not the host: a /24 for IPv4 and a /48 for IPv6 is enough to answer
    "from where" without keeping a precise location."""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


# Set while this thread's transaction holds the chain lock for all of its length (see
# `chain_locked`), so lock_chain() inside it need not ask the database again.
_held = threading.local()


def lock_chain() -> None:
    """Takes the chain's lock for the rest of the transaction (PostgreSQL; SQLite's write lock
    is taken at BEGIN). A transaction that also locks rows and then audits takes this first:
    one lock order everywhere, so a batch of items (quietroom.messaging.writer) that holds the
    chain and locks several conversations can never wait in a cycle with another writer."""
    if connection.vendor == "postgresql" and not getattr(_held, "active", False):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])


@contextmanager
def chain_locked() -> Iterator[None]:
    """Takes the chain's lock once for a whole transaction that audits many times (the item
    writer's batch). Enter it first thing inside the outermost `atomic` block, outside any
    savepoint (a lock taken in a savepoint is released when it rolls back), and leave it
    before that block ends."""
    if not connection.in_atomic_block or connection.savepoint_ids:
        raise AuditOutsideTransactionError("chain_locked must open an outermost transaction")
    lock_chain()
    _held.active = True
    try:
        yield
    finally:
        _held.active = False


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _id(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


def _chain_head() -> tuple[int, str] | None:
    """The newest event's (seq, hash): hand-written, as it runs for every audited request."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)  # noqa: SLF001
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1")  # noqa: S608 - table name from the model
        row = cursor.fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def record_event(
    *,
    action: str,
    outcome: Outcome = Outcome.ALLOWED,
    actor: User | None = None,
    actor_role: str = "",
    device_id: UUID | None = None,
    practice: Practice | None = None,
    client: Membership | None = None,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
    origin: Origin | None = None,
) -> AuditEvent:
    if not connection.in_atomic_block:
        raise AuditOutsideTransactionError(
            "record_event must run inside the transaction of the action it records"
        )
    origin = origin or Origin()
    lock_chain()
    head = _chain_head()
    if head is None:
        anchor = AuditCheckpoint.objects.filter(anchor=True).order_by("-seq").first()
        head = (anchor.seq, anchor.hash) if anchor else (0, chain.GENESIS)
    seq = head[0] + 1
    occurred_at = timezone.now()
    fields = {
        "seq": seq,
        "occurred_at": _iso(occurred_at),
        "actor_id": _id(actor.id if actor else None),
        "actor_role": actor_role,
        "device_id": _id(device_id),
        "practice_id": _id(practice.id if practice else None),
        "client_id": _id(client.id if client else None),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "outcome": str(outcome),
        "address": origin.address,
        "user_agent": origin.user_agent,
        "reason": reason,
        "prev_hash": head[1],
    }
    digest = chain.event_hash(fields)
    # The same values, typed for the database rather than for the hash.
    values = {
        **fields,
        "occurred_at": occurred_at,
        "actor_id": actor.id if actor else None,
        "device_id": device_id,
        "practice_id": practice.id if practice else None,
        "client_id": client.id if client else None,
        "hash": digest,
    }
    # A hand-written insert (quietroom.core.rows): every audited request pays for this one.
    insert_row(AuditEvent, values)
    event = AuditEvent(**values)
    event._state.adding = False  # noqa: SLF001 - Django's documented "loaded from the database" flag
    event._state.db = connection.alias  # noqa: SLF001
    if seq % CHECKPOINT_EVERY == 0:
        write_checkpoint(seq, digest)
    forwarding.forward_on_commit({**fields, "hash": digest})
    return event


def write_checkpoint(seq: int, head_hash: str, *, anchor: bool = False) -> AuditCheckpoint:
    signature = chain.sign_checkpoint(keys.signing_key(), seq, head_hash)
    checkpoint, _ = AuditCheckpoint.objects.update_or_create(
        seq=seq,
        defaults={
            "hash": head_hash,
            "signed_at": timezone.now(),
            "signature": signature,
            "anchor": anchor,
        },
    )
    return checkpoint


@transaction.atomic
def checkpoint_head() -> AuditCheckpoint | None:
    """Sign the current head: run periodically (cron) and before each export."""
    lock_chain()
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    if head is None:
        return None
    return write_checkpoint(head[0], head[1])


def record_denied(
    *,
    action: str,
    actor: User | None,
    object_type: str,
    object_id: str,
    practice: Practice | None = None,
    client: Membership | None = None,
    origin: Origin | None = None,
) -> None:
    """A refused attempt on client data has no action to share a transaction with. When the
    target exists, the event names its practice and client, so that practice's reviewers see
    attempts on their clients (insider snooping shows up); the caller still only sees a 404."""
    with transaction.atomic():
        record_event(
            action=action,
            outcome=Outcome.DENIED,
            actor=actor,
            practice=practice,
            client=client,
            object_type=object_type,
            object_id=object_id,
            origin=origin,
        )


@transaction.atomic
def purge_before(cutoff: datetime) -> int:
    """Retention: delete events older than `cutoff`, up to the newest event before it, and
    leave a signed anchor so verification starts from there. Returns events deleted."""
    lock_chain()
    last_old = (
        AuditEvent.objects.filter(occurred_at__lt=cutoff)
        .order_by("-seq")
        .values_list("seq", "hash")
        .first()
    )
    if last_old is None:
        return 0
    write_checkpoint(last_old[0], last_old[1], anchor=True)
    deleted, _ = AuditEvent.objects.filter(seq__lte=last_old[0]).delete()
    AuditCheckpoint.objects.filter(seq__lt=last_old[0]).delete()
    logger.info("audit retention purge", extra={"through_seq": last_old[0], "deleted": deleted})
    return deleted
