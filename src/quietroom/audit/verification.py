"""`quietroom audit verify` and `export`: the chain checked from the database or from an
exported file on another machine, in constant memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils import timezone

from quietroom.audit import chain, keys
from quietroom.audit.models import AuditCheckpoint, AuditEvent, AuditVerification

EXPORT_KIND = "quietroom-audit-export"
VALUE_FIELDS = [
    "seq", "occurred_at", "actor_id", "actor_role", "device_id", "practice_id", "client_id",
    "action", "object_type", "object_id", "outcome", "address", "user_agent", "reason",
    "prev_hash", "hash",
]  # fmt: skip


def _as_chain_fields(row: dict[str, Any]) -> dict[str, Any]:
    fields = dict(row)
    fields["occurred_at"] = row["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds")
    for name in ("actor_id", "device_id", "practice_id", "client_id"):
        fields[name] = str(row[name]) if row[name] is not None else None
    return fields


def database_events() -> Iterator[dict[str, Any]]:
    rows = AuditEvent.objects.order_by("seq").values(*VALUE_FIELDS).iterator(chunk_size=5000)
    for row in rows:
        yield _as_chain_fields(row)


def database_checkpoints() -> list[chain.Checkpoint]:
    return [
        chain.Checkpoint(c.seq, c.hash, c.signature, c.anchor)
        for c in AuditCheckpoint.objects.order_by("seq")
    ]


def verify_database(*, record: bool = True) -> chain.VerifyResult:
    result = chain.verify(database_events(), database_checkpoints(), keys.public_key())
    if record:
        AuditVerification.objects.create(
            checked_at=timezone.now(),
            ok=result.ok,
            events=result.events,
            first_broken_seq=result.first_broken_seq,
            problem=result.problem[:200],
        )
    return result


def export(out: IO[str]) -> int:
    """Write the whole trail as JSON lines: a header with the checkpoint key, the signed
    checkpoints, then every event. Returns the number of events written."""
    header = {
        "type": EXPORT_KIND,
        "version": 1,
        "exported_at": timezone.now().isoformat(),
        "public_key": keys.public_key_hex(),
    }
    out.write(json.dumps(header) + "\n")
    for checkpoint in database_checkpoints():
        out.write(json.dumps({"type": "checkpoint", **checkpoint.__dict__}) + "\n")
    count = 0
    for fields in database_events():
        out.write(json.dumps({"type": "event", **fields}, sort_keys=True) + "\n")
        count += 1
    return count


class ExportFileError(ValueError):
    pass


def verify_file(path: Path, pinned_public_key: str | None = None) -> chain.VerifyResult:
    """Check an exported file. Pass the audit key's fingerprint recorded off the host
    (`pinned_public_key`) to rule out a file re-signed with another key."""
    with path.open(encoding="utf-8") as handle:
        try:
            header = json.loads(handle.readline())
        except ValueError:
            raise ExportFileError("not a Quietroom audit export (bad header)") from None
        if not isinstance(header, dict) or header.get("type") != EXPORT_KIND:
            raise ExportFileError("not a Quietroom audit export (bad header)")
        key_hex = str(header.get("public_key", ""))
        if pinned_public_key is not None and key_hex != pinned_public_key.lower():
            raise ExportFileError("the file is signed with a different audit key than pinned")
        public_key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
        checkpoints: list[chain.Checkpoint] = []
        position = handle.tell()
        line = handle.readline()
        while line and json.loads(line).get("type") == "checkpoint":
            data = json.loads(line)
            checkpoints.append(
                chain.Checkpoint(data["seq"], data["hash"], data["signature"], data["anchor"])
            )
            position = handle.tell()
            line = handle.readline()
        handle.seek(position)
        return chain.verify(_file_events(handle), checkpoints, public_key)


def _file_events(handle: IO[str]) -> Iterator[dict[str, Any]]:
    for line in handle:
        data = json.loads(line)
        if data.pop("type", None) != "event" or not set(VALUE_FIELDS) <= set(data):
            raise ExportFileError("unexpected line in the events section")
        yield data


def latest_verification() -> AuditVerification | None:
    return AuditVerification.objects.order_by("-checked_at").first()
