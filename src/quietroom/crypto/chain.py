"""Monotonic signed-object chains: ``seq`` and ``prev_hash`` (crypto-protocol.md §5.3, §6.2).

Device lists and practice configs share these rules. A client remembers the highest
``(seq, SHA-256(M))`` it has seen; anything lower is a rollback, the same ``seq`` with another hash
is a fork, and a jump must be bridged by every intermediate version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final, Protocol

from cryptography.hazmat.primitives import constant_time

from quietroom.crypto.encoding import sha256
from quietroom.crypto.errors import ChainError, RollbackError

GENESIS_PREV_HASH: Final = bytes(32)


class Chained(Protocol):
    @property
    def seq(self) -> int: ...

    @property
    def prev_hash(self) -> bytes: ...

    def message(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ChainHead:
    """What a client pins per user (device list) or per practice (config)."""

    seq: int
    hash: bytes

    @classmethod
    def of(cls, obj: Chained) -> ChainHead:
        return cls(obj.seq, sha256(obj.message()))


def check_link(previous: Chained, new: Chained) -> None:
    if new.seq != previous.seq + 1:
        raise ChainError(f"seq {new.seq} does not follow {previous.seq}")
    if not constant_time.bytes_eq(new.prev_hash, sha256(previous.message())):
        raise ChainError("prev_hash is not the hash of the previous version")


def check_genesis(obj: Chained) -> None:
    if obj.seq != 1 or obj.prev_hash != GENESIS_PREV_HASH:
        raise ChainError("the first version must have seq 1 and a zero prev_hash")


def check_advance(pinned: ChainHead | None, versions: Sequence[Chained]) -> ChainHead:
    """Checks that ``versions`` (oldest first, newest last) may replace ``pinned``.

    ``versions`` must be consecutive and reach back to the pin: either include the pinned
    version itself (same hash) or start right after it (``prev_hash`` = the pinned hash).
    Signatures are the caller's job; this checks ordering only. Returns the new head to pin.
    """
    if not versions:
        raise ChainError("no version to accept")
    for older, newer in pairwise(versions):
        check_link(older, newer)
    newest = ChainHead.of(versions[-1])
    if pinned is None:
        return newest  # first contact: trust on first use
    if newest.seq < pinned.seq:
        raise RollbackError(f"seq {newest.seq} is lower than the pinned {pinned.seq}")
    for version in versions:
        if version.seq == pinned.seq:
            if not constant_time.bytes_eq(ChainHead.of(version).hash, pinned.hash):
                raise ChainError(f"a different version with the pinned seq {pinned.seq} (fork)")
            return newest
    first = versions[0]
    if first.seq != pinned.seq + 1:
        raise ChainError(f"missing versions between {pinned.seq} and {first.seq}")
    if not constant_time.bytes_eq(first.prev_hash, pinned.hash):
        raise ChainError("prev_hash does not extend the pinned version (fork)")
    return newest
