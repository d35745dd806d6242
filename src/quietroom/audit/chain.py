"""The chain's arithmetic, shared by the recorder, `audit verify` and exported files.

Each event's hash is SHA-256 over its canonical JSON (sorted keys, ASCII, no spaces) including
the previous event's hash, so changing, deleting, inserting or reordering any row breaks every
link after it. Checkpoints sign `qr-audit-checkpoint/v1|seq|hash` with an Ed25519 key kept in
the data folder, apart from the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq", "occurred_at", "actor_id", "actor_role", "device_id", "practice_id", "client_id",
    "action", "object_type", "object_id", "outcome", "address", "user_agent", "reason",
    "prev_hash",
)  # fmt: skip


# Keys inserted in sorted order encode exactly as sort_keys=True would; one shared encoder
# saves building a new one per event, which dominates `audit verify` over millions of rows.
_SORTED_FIELDS = tuple(sorted(HASHED_FIELDS))
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True)


def event_hash(fields: Mapping[str, Any]) -> str:
    canonical = {name: fields[name] for name in _SORTED_FIELDS}
    return hashlib.sha256(_ENCODER.encode(canonical).encode("ascii")).hexdigest()


def checkpoint_message(seq: int, head_hash: str) -> bytes:
    return f"qr-audit-checkpoint/v1|{seq}|{head_hash}".encode("ascii")


def sign_checkpoint(key: Ed25519PrivateKey, seq: int, head_hash: str) -> str:
    return key.sign(checkpoint_message(seq, head_hash)).hex()


def checkpoint_valid(public_key: Ed25519PublicKey, seq: int, head_hash: str, sig: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(sig), checkpoint_message(seq, head_hash))
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    signature: str
    anchor: bool


@dataclass
class VerifyResult:
    ok: bool
    events: int
    first_broken_seq: int | None = None
    problem: str = ""
    checkpoints: int = 0

    def describe(self) -> str:
        if self.ok:
            return (
                f"audit chain intact: {self.events} events, {self.checkpoints} checkpoints verified"
            )
        return f"audit chain BROKEN at event {self.first_broken_seq}: {self.problem}"


def _broken(events: int, seq: int | None, problem: str) -> VerifyResult:
    return VerifyResult(ok=False, events=events, first_broken_seq=seq, problem=problem)


def verify(
    events: Iterable[Mapping[str, Any]],
    checkpoints: Iterable[Checkpoint],
    public_key: Ed25519PublicKey,
) -> VerifyResult:
    """Walk the events in seq order, in constant memory, and name the first broken link."""
    by_seq = {c.seq: c for c in checkpoints}
    for checkpoint in by_seq.values():
        if not checkpoint_valid(public_key, checkpoint.seq, checkpoint.hash, checkpoint.signature):
            return _broken(0, checkpoint.seq, "checkpoint signature does not verify")
    anchors = [c for c in by_seq.values() if c.anchor]
    start = max(anchors, key=lambda c: c.seq) if anchors else None
    expected_seq = (start.seq + 1) if start else 1
    prev = start.hash if start else GENESIS
    count = 0
    checked = 0
    # Callers stream events in seq order; any that are not are reported as reordered.
    for fields in events:
        seq = int(fields["seq"])
        if seq != expected_seq:
            problem = (
                f"events {expected_seq}..{seq - 1} are missing (deleted)"
                if seq > expected_seq
                else f"event {seq} is out of order or duplicated (inserted or reordered)"
            )
            return _broken(count, min(seq, expected_seq), problem)
        if fields["prev_hash"] != prev:
            return _broken(
                count, seq, "does not link to the previous event (inserted or reordered)"
            )
        computed = event_hash(fields)
        if computed != fields["hash"]:
            return _broken(count, seq, "content does not match its hash (changed)")
        signed = by_seq.get(seq)
        if signed is not None:
            if signed.hash != computed:
                return _broken(count, seq, "differs from its signed checkpoint")
            checked += 1
        prev = computed
        expected_seq += 1
        count += 1
    last_seq = expected_seq - 1
    beyond = [c.seq for c in by_seq.values() if c.seq > last_seq and not c.anchor]
    if beyond:
        return _broken(
            count, last_seq + 1, f"events up to signed checkpoint {max(beyond)} are missing"
        )
    return VerifyResult(ok=True, events=count, checkpoints=checked + (1 if start else 0))
