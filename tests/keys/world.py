"""Real account keys for the keys API tests, made with the Python protocol core exactly as a
browser makes them (crypto-protocol §4, §5, §10). Nothing here is stored except the practice
config (`install_config`): keys reach the server through the API under test.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.test import Client

from quietroom.accounts.models import KdfParams as StoredKdf
from quietroom.accounts.models import User
from quietroom.crypto import account, envelope, practice
from quietroom.crypto.devices import DeviceEntry, DeviceList, seal_dev_wrap, sign_device_list
from quietroom.crypto.encoding import b64url_decode, b64url_encode, sha256
from quietroom.crypto.keys import (
    ed25519_from_seed,
    kid,
    random_bytes,
    raw_public,
    x25519_from_seed,
)
from quietroom.crypto.password import KdfParams
from quietroom.directory.models import PracticeConfigVersion
from quietroom.practices.models import Practice
from tests.harness.browser import record_sign_in

Json = dict[str, Any]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def uuid7() -> uuid.UUID:
    raw = bytearray(now_ms().to_bytes(6, "big") + random_bytes(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return uuid.UUID(bytes=bytes(raw))


def install_config(practice_row: Practice) -> practice.PracticeKeys:
    """The practice's key ceremony (§6.1): PRK/PRSK and the signed config seq 1, stored."""
    keys = practice.PracticeKeys.generate(practice_row.id)
    config = practice.sign_config(
        keys.prsk,
        practice_id=practice_row.id,
        seq=1,
        prev_hash=bytes(32),
        prk_pub=keys.prk_pub,
        name=practice_row.name,
    )
    PracticeConfigVersion.objects.create(
        practice=practice_row,
        seq=1,
        prsk_pub=b64url_encode(keys.prsk_pub),
        prk_pub=b64url_encode(keys.prk_pub),
        prk_id=b64url_encode(keys.prk_id),
        msg_hash=b64url_encode(sha256(config.message())),
        envelope=envelope.dumps(envelope.encode_config(config)).decode("utf-8"),
    )
    return keys


@dataclass
class Device:
    device_id: uuid.UUID
    dk_sig_pub: bytes
    dk_enc: Any  # X25519PrivateKey
    added_at: int

    @classmethod
    def new(cls) -> Device:
        dk_sig = ed25519_from_seed(random_bytes(32))
        return cls(uuid7(), raw_public(dk_sig), x25519_from_seed(random_bytes(32)), now_ms())

    @property
    def dk_enc_pub(self) -> bytes:
        return raw_public(self.dk_enc)

    def entry(self, revoked_at: int = 0) -> DeviceEntry:
        return DeviceEntry(
            self.device_id, self.dk_sig_pub, self.dk_enc_pub, self.added_at, revoked_at
        )


@dataclass
class Keyring:
    """One person's keys as their browser holds them."""

    user: User
    practice_id: uuid.UUID
    prk_pub: bytes
    uk: bytes = field(default_factory=lambda: random_bytes(32))
    keys: account.AccountKeys = field(
        default_factory=lambda: account.AccountKeys(
            aik=ed25519_from_seed(random_bytes(32)), aek=x25519_from_seed(random_bytes(32))
        )
    )
    ver: int = 1
    devices: list[Device] = field(default_factory=list)
    revoked: dict[uuid.UUID, int] = field(default_factory=dict)
    lists: list[DeviceList] = field(default_factory=list)
    kek: bytes = field(default_factory=lambda: random_bytes(32))

    def kdf(self) -> KdfParams:
        row = StoredKdf.objects.get(user=self.user)
        return KdfParams(row.m, row.t, row.p)

    def salt(self) -> bytes:
        return b64url_decode(StoredKdf.objects.get(user=self.user).salt, 16)

    def pw_wrap(self, ver: int, params: KdfParams | None = None) -> str:
        return b64url_encode(
            account.seal_pw_wrap(
                self.kek, self.uk, user_id=self.user.id, salt=self.salt(),
                params=params or self.kdf(), ver=ver,
            )
        )  # fmt: skip

    def bundle(self) -> Json:
        sealed = account.seal_bundle(self.uk, self.keys, user_id=self.user.id, ver=self.ver)
        return envelope.encode_bundle(sealed)

    def aek_bind(self) -> Json:
        bind = account.sign_aek_bind(
            self.keys.aik, user_id=self.user.id, aek_pub=self.keys.aek_pub, ver=self.ver,
            created_at=now_ms(),
        )  # fmt: skip
        return envelope.encode_aek_bind(bind)

    def rec_escrow(self) -> Json:
        ct = account.seal_rec_escrow(
            self.prk_pub, self.keys.aek, practice_id=self.practice_id, user_id=self.user.id
        )
        prk_id = kid("x25519", self.prk_pub)
        return {"prk_id": b64url_encode(prk_id), "ct": b64url_encode(ct)}

    def next_list(self, *, aik: Any = None) -> DeviceList:
        """The next signed device list over every device so far (revoked ones marked)."""
        previous = self.lists[-1] if self.lists else None
        return sign_device_list(
            aik or self.keys.aik,
            user_id=self.user.id,
            seq=previous.seq + 1 if previous else 1,
            prev_hash=sha256(previous.message()) if previous else bytes(32),
            created_at=now_ms(),
            entries=[d.entry(self.revoked.get(d.device_id, 0)) for d in self.devices],
        )

    def dev_wrap(self, device: Device) -> str:
        return b64url_encode(
            seal_dev_wrap(
                device.dk_enc_pub, self.uk, user_id=self.user.id, device_id=device.device_id
            )
        )

    def keys_in(self, *, remember: bool = True, pw_ver: int = 1) -> Json:
        """The AccountKeysIn body for a new device (first keys, or recovery's new keys)."""
        device = Device.new()
        self.devices.append(device)
        device_list = self.next_list()
        body = {
            "kdf": {"alg": "argon2id", **_kdf_json(self.kdf())},
            "pw_wrap": self.pw_wrap(pw_ver),
            "bundle": self.bundle(),
            "aek_bind": self.aek_bind(),
            "rec_escrow": self.rec_escrow(),
            "device_list": envelope.encode_device_list(device_list),
            "dev_wrap": (
                {"device_id": str(device.device_id), "ct": self.dev_wrap(device)}
                if remember
                else None
            ),
        }
        self.lists.append(device_list)
        return body


def _kdf_json(params: KdfParams) -> Json:
    return {"m": params.m, "t": params.t, "p": params.p}


def keyring(user: User, practice_row: Practice, keys: practice.PracticeKeys) -> Keyring:
    return Keyring(user=user, practice_id=practice_row.id, prk_pub=keys.prk_pub)


def api(user: User | None, *, fresh_auth: bool = True) -> Client:
    """A Django test client signed in as `user` (force_login + allauth's sign-in record)."""
    client = Client()
    if user is not None:
        client.force_login(user)
        if fresh_auth:
            record_sign_in(client, user)
    return client


def put_json(client: Client, path: str, body: Any) -> Any:
    return client.put(path, body, content_type="application/json")


def post_json(client: Client, path: str, body: Any) -> Any:
    return client.post(path, body, content_type="application/json")


def upload_keys(client: Client, ring: Keyring) -> Any:
    return put_json(client, "/api/keys/account", ring.keys_in())
