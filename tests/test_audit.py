"""The audit trail: tamper evidence, atomicity with the action, concurrency, checkpoints,
export and offline verification, retention and syslog forwarding."""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from quietroom.audit import chain, services, verification
from quietroom.audit.chain import GENESIS
from quietroom.audit.models import AuditCheckpoint, AuditEvent, Outcome
from quietroom.practices.models import Practice
from tests.harness.personas import Personas
from tests.harness.server import shared_database_url

pytestmark = pytest.mark.django_db(transaction=True)


def add_events(count: int, personas: Personas | None = None) -> None:
    for index in range(count):
        with transaction.atomic():
            services.record_event(
                action="test.event",
                actor=personas.therapist.user if personas else None,
                client=personas.client.membership if personas else None,
                object_type="thing",
                object_id=str(index),
            )


def run_sql(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_chain_links_every_event_to_the_one_before(personas: Personas) -> None:
    add_events(5, personas)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
    assert verification.verify_database(record=False).ok


def test_changed_row_is_named(personas: Personas) -> None:
    add_events(6, personas)
    run_sql("UPDATE audit_auditevent SET object_id = 'forged' WHERE seq = 4")
    result = verification.verify_database()
    assert not result.ok
    assert result.first_broken_seq == 4
    assert "changed" in result.problem


def test_deleted_row_is_named(personas: Personas) -> None:
    add_events(6, personas)
    run_sql("DELETE FROM audit_auditevent WHERE seq = 3")
    result = verification.verify_database()
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "missing" in result.problem


def test_deleted_tail_is_caught_by_a_signed_checkpoint(personas: Personas) -> None:
    add_events(4, personas)
    services.checkpoint_head()
    run_sql("DELETE FROM audit_auditevent WHERE seq = 4")
    result = verification.verify_database()
    assert (result.ok, result.first_broken_seq) == (False, 4)


def test_inserted_row_is_named(personas: Personas) -> None:
    add_events(5, personas)
    # Shift events 3.. up by one and slip a forged row in at 3 with a correct-looking hash.
    run_sql("UPDATE audit_auditevent SET seq = seq + 100 WHERE seq >= 3")
    run_sql("UPDATE audit_auditevent SET seq = seq - 99 WHERE seq >= 103")
    forged = AuditEvent.objects.get(seq=4)
    AuditEvent.objects.filter(seq=4).update(hash="f" * 64)  # keep unique constraint happy
    run_sql(
        "INSERT INTO audit_auditevent (seq, occurred_at, actor_role, action, object_type,"
        " object_id, outcome, address, user_agent, reason, prev_hash, hash)"
        " VALUES (3, %s, '', 'forged', '', '', 'allowed', '', '', '', %s, %s)",
        [timezone.now(), AuditEvent.objects.get(seq=2).hash, "e" * 64],
    )
    AuditEvent.objects.filter(seq=4).update(hash=forged.hash)
    result = verification.verify_database()
    assert (result.ok, result.first_broken_seq) == (False, 3)


def test_reordered_rows_are_named(personas: Personas) -> None:
    add_events(5, personas)
    run_sql("UPDATE audit_auditevent SET seq = 100 WHERE seq = 2")
    run_sql("UPDATE audit_auditevent SET seq = 2 WHERE seq = 3")
    run_sql("UPDATE audit_auditevent SET seq = 3 WHERE seq = 100")
    result = verification.verify_database()
    assert (result.ok, result.first_broken_seq) == (False, 2)


def test_forged_checkpoint_signature_is_refused(personas: Personas) -> None:
    add_events(3, personas)
    checkpoint = services.checkpoint_head()
    assert checkpoint is not None
    AuditCheckpoint.objects.filter(seq=checkpoint.seq).update(signature="00" * 64)
    assert not verification.verify_database().ok


def test_failed_action_leaves_no_audit_row(personas: Personas) -> None:
    def action_that_fails() -> None:
        with transaction.atomic():
            services.record_event(action="test.event", actor=personas.owner.user)
            Practice.objects.create(name="created by the action")
            raise RuntimeError("the action fails after its audit row was written")

    with pytest.raises(RuntimeError):
        action_that_fails()
    assert AuditEvent.objects.count() == 0
    assert not Practice.objects.filter(name="created by the action").exists()


def test_failed_audit_insert_rolls_the_action_back(
    personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(chain, "event_hash", fail)

    def action() -> None:
        with transaction.atomic():
            Practice.objects.create(name="must not survive")
            services.record_event(action="test.event", actor=personas.owner.user)

    with pytest.raises(RuntimeError):
        action()
    assert not Practice.objects.filter(name="must not survive").exists()


def test_audit_outside_a_transaction_is_refused() -> None:
    with pytest.raises(services.AuditOutsideTransactionError):
        services.record_event(action="test.event")


def test_concurrent_writers_make_one_unbroken_chain() -> None:
    writers, per_writer = 8, 15
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(per_writer):
                with transaction.atomic():
                    services.record_event(action="test.concurrent")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert AuditEvent.objects.count() == writers * per_writer
    result = verification.verify_database()
    assert result.ok, result.describe()
    assert result.events == writers * per_writer


def test_automatic_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "CHECKPOINT_EVERY", 4)
    add_events(9)
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True).order_by("seq")) == [4, 8]
    assert verification.verify_database().checkpoints == 2


def test_export_verifies_offline_and_names_tampering(personas: Personas, tmp_path: Path) -> None:
    add_events(7, personas)
    services.checkpoint_head()
    export = tmp_path / "audit.jsonl"
    with export.open("w") as out:
        assert verification.export(out) == 7
    assert verification.verify_file(export).ok

    lines = export.read_text().splitlines()
    event = json.loads(lines[5])
    event["action"] = "something.else"
    lines[5] = json.dumps(event)
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")
    result = verification.verify_file(tampered)
    assert not result.ok
    assert result.first_broken_seq == event["seq"]


def test_export_pinned_to_another_key_is_refused(personas: Personas, tmp_path: Path) -> None:
    add_events(2, personas)
    export = tmp_path / "audit.jsonl"
    with export.open("w") as out:
        verification.export(out)
    with pytest.raises(verification.ExportFileError, match="different audit key"):
        verification.verify_file(export, pinned_public_key="ab" * 32)


def test_cli_verify_and_export(personas: Personas, tmp_path: Path) -> None:
    add_events(3, personas)
    out = tmp_path / "trail.jsonl"
    export = subprocess.run(
        [sys.executable, "-m", "quietroom.cli", "audit", "export", "--output", str(out)],
        capture_output=True, text=True, timeout=120, check=False, env=_cli_env(),
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert "exported 3 events" in export.stdout
    verify = subprocess.run(
        [sys.executable, "-m", "quietroom.cli", "audit", "verify", "--file", str(out)],
        capture_output=True, text=True, timeout=120, check=False, env=_cli_env(),
    )  # fmt: skip
    assert verify.returncode == 0
    assert "intact: 3 events" in verify.stdout
    run_sql("UPDATE audit_auditevent SET reason = 'x' WHERE seq = 2")
    broken = subprocess.run(
        [sys.executable, "-m", "quietroom.cli", "audit", "verify"],
        capture_output=True, text=True, timeout=120, check=False, env=_cli_env(),
    )  # fmt: skip
    assert broken.returncode == 1
    assert "BROKEN at event 2" in broken.stdout


def _cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, "QUIETROOM_DATABASE_URL": shared_database_url()}


def test_retention_purge_keeps_a_verifiable_chain(personas: Personas) -> None:
    add_events(5, personas)
    AuditEvent.objects.filter(seq__lte=3).update(occurred_at=timezone.now() - timedelta(days=9))
    # Editing the time breaks those rows' hashes, but they are about to be purged anyway.
    deleted = services.purge_before(timezone.now() - timedelta(days=1))
    assert deleted == 3
    assert verification.verify_database(record=False).ok
    add_events(2, personas)
    result = verification.verify_database()
    assert result.ok
    assert result.events == 4


def test_retention_keeps_six_years_by_default(personas: Personas) -> None:
    add_events(2, personas)
    AuditEvent.objects.filter(seq=1).update(
        occurred_at=timezone.now() - timedelta(days=5 * 365 + 364)
    )
    cutoff = timezone.now() - timedelta(days=settings.CONFIG.audit_retention_days)
    assert services.purge_before(cutoff) == 0


def test_events_are_forwarded_to_syslog_after_commit(
    personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    received: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def accept() -> None:
        conn, _ = server.accept()
        with conn:
            received.append(conn.recv(65536))

    thread = threading.Thread(target=accept)
    thread.start()
    monkeypatch.setattr(
        settings, "CONFIG", settings.CONFIG.__class__(
            **{**settings.CONFIG.__dict__, "audit_syslog_url": f"tcp://127.0.0.1:{port}"}
        ),
    )  # fmt: skip
    with transaction.atomic():
        services.record_event(action="test.forwarded", actor=personas.owner.user)
    thread.join(timeout=10)
    server.close()
    assert len(received) == 1
    length, message = received[0].split(b" ", 1)
    assert int(length) == len(message)
    assert message.startswith(b"<133>1 ")
    assert b'"action":"test.forwarded"' in message


def test_denied_attempts_are_recorded(personas: Personas) -> None:
    services.record_denied(
        action="client.profile.read",
        actor=personas.other_practice_therapist.user,
        object_type="client",
        object_id="x",
    )
    event = AuditEvent.objects.get()
    assert event.outcome == Outcome.DENIED
    assert event.actor_id == personas.other_practice_therapist.user.pk


def test_address_is_kept_coarse() -> None:
    assert services.coarse_address("203.0.113.77") == "203.0.113.0/24"
    assert services.coarse_address("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert services.coarse_address("not an address") == ""


def test_chain_locked_holds_the_chain_for_a_whole_outermost_transaction() -> None:
    with pytest.raises(services.AuditOutsideTransactionError), services.chain_locked():
        pass  # not in a transaction
    with (
        transaction.atomic(),
        transaction.atomic(),  # a savepoint: a lock taken here would go with its rollback
        pytest.raises(services.AuditOutsideTransactionError),
        services.chain_locked(),
    ):
        pass

    def another_writer_may_append() -> bool:
        """Whether another connection could take the chain lock now (PostgreSQL)."""
        answer: list[bool] = []

        def ask() -> None:
            try:
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [services.ADVISORY_LOCK_KEY])
                    answer.append(bool(cursor.fetchone()[0]))
                    cursor.execute("SELECT pg_advisory_unlock_all()")
            finally:
                connections["default"].close()

        thread = threading.Thread(target=ask)
        thread.start()
        thread.join()
        return answer[0]

    with transaction.atomic(), services.chain_locked():
        services.record_event(action="test.first")
        services.record_event(action="test.second")
        if connection.vendor == "postgresql":
            assert not another_writer_may_append()
    if connection.vendor == "postgresql":
        assert another_writer_may_append()  # released with the commit
    assert [e.action for e in AuditEvent.objects.order_by("seq")] == ["test.first", "test.second"]
    assert verification.verify_database(record=False).ok
