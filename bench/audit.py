"""Audit trail figures (docs/benchmarks.md): append cost under 8 concurrent writers, `audit
verify` over a million events (time and memory), and staff search p95 over a million events.

    .venv/bin/python bench/audit.py [--events 1000000]

Uses a fresh data folder (SQLite) unless QUIETROOM_DATABASE_URL names a PostgreSQL database,
which it empties first. bench/run-audit runs it on both engines.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

os.environ.setdefault("QUIETROOM_DATA_DIR", tempfile.mkdtemp(prefix="quietroom-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quietroom.settings")

import django

django.setup()

from django.core.management import call_command
from django.db import connection, connections, transaction

from quietroom.accounts.models import User
from quietroom.audit import chain, selectors, services, verification
from quietroom.audit.models import AuditCheckpoint, AuditEvent
from quietroom.practices.models import CareTeamMember, Membership, Practice, Role


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup_people(clients: int = 500, therapists: int = 50) -> tuple[User, list[Membership]]:
    practice = Practice.objects.create(name="Bench Practice")
    owner = User.objects.create_user(email="owner@bench.test", display_name="Owner")
    Membership.objects.create(practice=practice, user=owner, role=Role.OWNER)
    staff = [
        Membership.objects.create(
            practice=practice,
            user=User.objects.create_user(email=f"t{i}@bench.test", display_name=f"T{i}"),
            role=Role.THERAPIST,
        )
        for i in range(therapists)
    ]
    members = []
    for i in range(clients):
        member = Membership.objects.create(
            practice=practice,
            user=User.objects.create_user(email=f"c{i}@bench.test", display_name=f"C{i}"),
            role=Role.CLIENT,
        )
        CareTeamMember.objects.create(client=member, therapist=staff[i % therapists])
        members.append(member)
    return owner, members


def append_figure(writers: int, per_writer: int, owner: User, clients: list[Membership]) -> None:
    latencies: list[float] = []
    lock = threading.Lock()

    def write() -> None:
        local: list[float] = []
        for _ in range(per_writer):
            client = random.choice(clients)
            started = time.perf_counter()
            with transaction.atomic():
                services.record_event(
                    action="client.profile.read",
                    actor=owner,
                    actor_role="owner",
                    client=client,
                    object_type="client",
                    object_id=str(client.pk),
                )
            local.append((time.perf_counter() - started) * 1000)
        connections.close_all()
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = writers * per_writer
    print(
        f"append, {writers} concurrent writers: {total} events in {elapsed:.1f} s = "
        f"{total / elapsed:.0f} events/s; per audited transaction p50 "
        f"{statistics.median(latencies):.2f} ms, p95 {percentile(latencies, 95):.2f} ms"
    )
    # What audit adds to one request: the same small write transaction, without and with
    # its audit row (the commit's fsync is paid by the action either way).
    plain: list[float] = []
    audited: list[float] = []
    for index in range(1000):
        client = random.choice(clients)
        owner.display_name = f"Owner {index}"
        started = time.perf_counter()
        with transaction.atomic():
            owner.save(update_fields=["display_name"])
            if index % 2:
                services.record_event(
                    action="client.profile.read",
                    actor=owner,
                    client=client,
                    object_type="client",
                    object_id=str(client.pk),
                )
        (audited if index % 2 else plain).append((time.perf_counter() - started) * 1000)
    added = statistics.median(audited) - statistics.median(plain)
    print(
        f"1 writer: write transaction p50 {statistics.median(plain):.2f} ms without audit, "
        f"{statistics.median(audited):.2f} ms with it: audit adds {added:.2f} ms at the median"
    )


def bulk_seed(count: int, owner: User, clients: list[Membership]) -> None:
    """Append `count` chained events quickly (bulk inserts, same hashing as record_event)."""
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev = head or (0, chain.GENESIS)
    start = datetime.now(tz=UTC) - timedelta(days=365)
    actions = ["client.profile.read", "audit.search", "client.profile.read", "message.read"]
    batch: list[AuditEvent] = []
    key_every = services.CHECKPOINT_EVERY
    for index in range(count):
        seq += 1
        client = clients[index % len(clients)]
        moment = start + timedelta(seconds=index * 30)
        action = actions[index % len(actions)]
        fields = {
            "seq": seq, "occurred_at": moment.isoformat(timespec="microseconds"),
            "actor_id": str(owner.pk), "actor_role": "owner", "device_id": None,
            "practice_id": str(client.practice_id), "client_id": str(client.pk),
            "action": action, "object_type": "client", "object_id": str(client.pk),
            "outcome": "allowed" if index % 50 else "denied", "address": "192.0.2.0/24",
            "user_agent": "bench", "reason": "", "prev_hash": prev,
        }  # fmt: skip
        digest = chain.event_hash(fields)
        batch.append(
            AuditEvent(
                seq=seq, occurred_at=moment, actor_id=owner.pk, actor_role="owner",
                practice_id=client.practice_id, client_id=client.pk, action=action,
                object_type="client", object_id=str(client.pk), outcome=fields["outcome"],
                address="192.0.2.0/24", user_agent="bench", reason="", prev_hash=prev,
                hash=digest,
            )
        )  # fmt: skip
        prev = digest
        if seq % key_every == 0:
            with transaction.atomic():
                AuditEvent.objects.bulk_create(batch)
                services.write_checkpoint(seq, digest)
            batch = []
    if batch:
        AuditEvent.objects.bulk_create(batch)


def verify_figure() -> None:
    rss_before = max_rss_mib()
    started = time.perf_counter()
    result = verification.verify_database(record=False)
    elapsed = time.perf_counter() - started
    print(
        f"audit verify: {result.events} events, {result.checkpoints} checkpoints, ok={result.ok}, "
        f"{elapsed:.1f} s ({result.events / elapsed:,.0f} events/s); peak RSS "
        f"{rss_before:.0f} MiB before, {max_rss_mib():.0f} MiB after"
    )


def search_figure(owner: User, clients: list[Membership], queries: int = 200) -> None:
    base = selectors.reviewable_events(owner)
    assert base is not None
    newest = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 1
    timings: list[float] = []
    for index in range(queries):
        kind = index % 5
        f = selectors.EventFilter()
        before = None
        if kind == 1:
            f = selectors.EventFilter(client=random.choice(clients).pk)
        elif kind == 2:
            f = selectors.EventFilter(action="audit.search", outcome="denied")
        elif kind == 3:
            day = datetime.now(tz=UTC) - timedelta(days=random.randint(2, 360))
            f = selectors.EventFilter(since=day, until=day + timedelta(days=1))
        elif kind == 4:
            before = random.randint(1, newest)
        started = time.perf_counter()
        rows, _ = selectors.page(selectors.apply_filter(base, f), before, 50)
        timings.append((time.perf_counter() - started) * 1000)
        assert len(rows) <= 50
    print(
        f"staff search over {newest:,} events ({queries} queries: latest page, by client, "
        f"by action+outcome, by day, deep page): p50 {statistics.median(timings):.1f} ms, "
        f"p95 {percentile(timings, 95):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-writer", type=int, default=250)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    for model in (AuditCheckpoint, AuditEvent, CareTeamMember, Membership, Practice, User):
        model.objects.all().delete()
    print(f"engine: {connection.vendor}; python {sys.version.split()[0]}; {os.cpu_count()} cores")
    owner, clients = setup_people()
    append_figure(args.writers, args.per_writer, owner, clients)
    started = time.perf_counter()
    bulk_seed(args.events - AuditEvent.objects.count(), owner, clients)
    seeded = AuditEvent.objects.count()
    print(f"(seeded to {seeded:,} events in {time.perf_counter() - started:.0f} s)")
    # As `quietroom serve` and `audit purge` do for SQLite, and autovacuum for PostgreSQL.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    verify_figure()
    search_figure(owner, clients)


if __name__ == "__main__":
    main()
