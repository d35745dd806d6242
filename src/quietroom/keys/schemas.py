"""Request and response shapes of the keys API (docs/api/keys.md). Envelopes are kept as
plain JSON objects here and decoded by `quietroom.crypto.envelope`, which owns their closed
schemas, so one decoder (the one the test vectors cover) judges them."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from ninja import Schema
from pydantic import ConfigDict, Field

B64 = Field(min_length=1, max_length=4096, pattern=r"^[A-Za-z0-9_-]+$")


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class KdfIn(Strict):
    alg: Literal["argon2id"]
    m: int
    t: int
    p: int


class RecEscrowIn(Strict):
    prk_id: str = Field(min_length=22, max_length=22, pattern=r"^[A-Za-z0-9_-]+$")
    ct: str = B64


class DevWrapIn(Strict):
    device_id: UUID
    ct: str = B64


class AccountKeysIn(Strict):
    kdf: KdfIn
    pw_wrap: str = B64
    bundle: dict[str, Any]
    aek_bind: dict[str, Any]
    rec_escrow: RecEscrowIn
    device_list: dict[str, Any]
    dev_wrap: DevWrapIn | None = None


class PendingPwWrapIn(Strict):
    ver: int = Field(ge=1)
    kdf: KdfIn
    ct: str = B64


class ConfirmPwWrapIn(Strict):
    ver: int = Field(ge=1)


class DevicesIn(Strict):
    device_list: dict[str, Any]
    dev_wrap: DevWrapIn | None = None


class DevWrapCtIn(Strict):
    ct: str = B64


class RecoveryRequestIn(Strict):
    t_pub: str = Field(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]+$")


class RecoveryTransferIn(Strict):
    ct: str = B64
    at: int = Field(ge=0)
    method: Literal["browser", "offline"]
    sig: str = Field(min_length=86, max_length=86, pattern=r"^[A-Za-z0-9_-]+$")


class RecoveryCompleteIn(Strict):
    request_id: UUID
    keys: AccountKeysIn
