"""A practice with real keys, for any test that needs a key directory (crypto-protocol §4 to §6).

Everything is made with the Python protocol core, exactly as a browser would make it, and stored
straight into the models (no API calls, no audit rows), so tests start from a known state:

    world = keyed_world(personas)          # practice A of the personas, every persona keyed
    world.member("therapist").keys         # crypto AccountKeys (AIK/AEK private keys)
    world.prk, world.prsk                  # the practice keys (PracticeKeys)
    cert_json(world, "client")             # a fresh MemberCert envelope, not stored

Lower-level pieces: `install_config(practice)`, `give_keys(world, membership)`,
`store_cert(world, membership)`, `account_keys_in(...)` (the AccountKeysIn body of set-up and
`PUT /api/keys/account`).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from allauth.mfa.models import Authenticator

from quietroom.accounts.models import User
from quietroom.accounts.prelogin import formula_salt
from quietroom.crypto import account, devices, envelope, practice
from quietroom.crypto.encoding import b64url_decode, b64url_encode, sha256
from quietroom.crypto.keys import ed25519_from_seed, random_bytes, raw_public, x25519_from_seed
from quietroom.crypto.password import DEFAULT_KDF
from quietroom.crypto.practice import PracticeConfig, PracticeKeys
from quietroom.directory.models import MemberCertificate, PracticeConfigVersion
from quietroom.keys.models import AccountKeys, AekBind, DeviceListVersion, PasswordWrap
from quietroom.practices.models import Membership, Practice, Role
from tests.harness.personas import Personas, give_passkey

Json = dict[str, Any]


def uuid7(ms: int | None = None) -> uuid.UUID:
    """A UUIDv7 as the browser makes them (ids of practices, owners and devices, §2.4)."""
    ms = time.time_ns() // 1_000_000 if ms is None else ms
    raw = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    return uuid.UUID(bytes=bytes(raw))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class KeyedMember:
    membership: Membership
    keys: account.AccountKeys
    uk: bytes
    device_id: uuid.UUID
    device_list: devices.DeviceList

    @property
    def user(self) -> User:
        return self.membership.user

    @property
    def aik_pub(self) -> str:
        return b64url_encode(self.keys.aik_pub)

    @property
    def aik_id(self) -> str:
        return b64url_encode(self.keys.aik_id)


@dataclass
class World:
    practice: Practice
    keys: PracticeKeys
    config: PracticeConfig
    members: dict[str, KeyedMember] = field(default_factory=dict)

    @property
    def prsk(self) -> Any:
        return self.keys.prsk

    @property
    def prk(self) -> Any:
        return self.keys.prk

    def member(self, key: str) -> KeyedMember:
        return self.members[key]


def signed_config(
    keys: practice.PracticeKeys, name: str, *, seq: int = 1, prev: bytes = bytes(32)
) -> practice.PracticeConfig:
    return practice.sign_config(
        keys.prsk,
        practice_id=keys.practice_id,
        seq=seq,
        prev_hash=prev,
        prk_pub=keys.prk_pub,
        name=name,
    )


def store_config(p: Practice, config: practice.PracticeConfig) -> PracticeConfigVersion:
    return PracticeConfigVersion.objects.create(
        practice=p,
        seq=config.seq,
        prsk_pub=b64url_encode(config.prsk_pub),
        prk_pub=b64url_encode(config.prk_pub),
        prk_id=b64url_encode(config.prk_id),
        msg_hash=b64url_encode(sha256(config.message())),
        envelope=envelope.dumps(envelope.encode_config(config)).decode(),
    )


def install_config(p: Practice) -> World:
    """New PRK/PRSK for an existing practice and its signed config v1, stored."""
    keys = practice.PracticeKeys.generate(p.id)
    config = signed_config(keys, p.name)
    store_config(p, config)
    return World(p, keys, config)


def new_account_keys() -> account.AccountKeys:
    return account.AccountKeys(
        aik=ed25519_from_seed(random_bytes(32)), aek=x25519_from_seed(random_bytes(32))
    )


def first_device_list(
    keys: account.AccountKeys, user_id: uuid.UUID, *, seq: int = 1, prev: bytes = bytes(32)
) -> tuple[uuid.UUID, devices.DeviceList]:
    at = now_ms()
    device_id = uuid7(at)
    entry = devices.DeviceEntry(
        device_id=device_id,
        dk_sig_pub=raw_public(ed25519_from_seed(random_bytes(32))),
        dk_enc_pub=raw_public(x25519_from_seed(random_bytes(32))),
        added_at=at,
    )
    dl = devices.sign_device_list(
        keys.aik, user_id=user_id, seq=seq, prev_hash=prev, created_at=at, entries=[entry]
    )
    return device_id, dl


def account_keys_in(
    user_id: uuid.UUID,
    email: str,
    keys: account.AccountKeys,
    practice_keys: practice.PracticeKeys,
    *,
    uk: bytes | None = None,
) -> tuple[Json, bytes, devices.DeviceList]:
    """The AccountKeysIn body a browser sends for a new account (docs/api/keys.md), with the
    prelogin salt of `email`. The pw_wrap is sealed under a random KEK: the server cannot
    open it either, it only checks its shape."""
    uk = uk or account.generate_uk()
    salt = b64url_decode(formula_salt(email), 16)
    pw_wrap = account.seal_pw_wrap(
        random_bytes(32), uk, user_id=user_id, salt=salt, params=DEFAULT_KDF, ver=1
    )
    bundle = account.seal_bundle(uk, keys, user_id=user_id, ver=1)
    bind = account.sign_aek_bind(
        keys.aik, user_id=user_id, aek_pub=keys.aek_pub, ver=1, created_at=now_ms()
    )
    escrow = account.seal_rec_escrow(
        practice_keys.prk_pub, keys.aek, practice_id=practice_keys.practice_id, user_id=user_id
    )
    _, dl = first_device_list(keys, user_id)
    body = {
        "kdf": {"alg": "argon2id", "m": DEFAULT_KDF.m, "t": DEFAULT_KDF.t, "p": DEFAULT_KDF.p},
        "pw_wrap": b64url_encode(pw_wrap),
        "bundle": envelope.encode_bundle(bundle),
        "aek_bind": envelope.encode_aek_bind(bind),
        "rec_escrow": {"prk_id": b64url_encode(practice_keys.prk_id), "ct": b64url_encode(escrow)},
        "device_list": envelope.encode_device_list(dl),
        "dev_wrap": None,
    }
    return body, uk, dl


def _text(obj: Json) -> str:
    return envelope.dumps(obj).decode()


def give_keys(
    world: World, membership: Membership, keys: account.AccountKeys | None = None, *, ver: int = 1
) -> KeyedMember:
    """Account keys for a member, stored straight in the models (as after
    `PUT /api/keys/account`), replacing any earlier ones (as after a recovery)."""
    keys = keys or new_account_keys()
    user = membership.user
    uk = account.generate_uk()
    bundle = account.seal_bundle(uk, keys, user_id=user.id, ver=ver)
    bind = account.sign_aek_bind(
        keys.aik, user_id=user.id, aek_pub=keys.aek_pub, ver=ver, created_at=now_ms()
    )
    escrow = account.seal_rec_escrow(
        world.keys.prk_pub, keys.aek, practice_id=world.practice.id, user_id=user.id
    )
    last = DeviceListVersion.objects.filter(user=user).order_by("-seq").first()
    seq, prev = (last.seq + 1, b64url_decode(last.msg_hash, 32)) if last else (1, bytes(32))
    device_id, dl = first_device_list(keys, user.id, seq=seq, prev=prev)
    AccountKeys.objects.update_or_create(
        user=user,
        defaults={
            "practice": world.practice,
            "ver": ver,
            "aik_pub": b64url_encode(keys.aik_pub),
            "aik_id": b64url_encode(keys.aik_id),
            "aek_pub": b64url_encode(keys.aek_pub),
            "aek_id": b64url_encode(keys.aek_id),
            "bundle": _text(envelope.encode_bundle(bundle)),
            "rec_escrow": b64url_encode(escrow),
            "rec_escrow_prk_id": b64url_encode(world.keys.prk_id),
            "keys_locked": False,
        },
    )
    AekBind.objects.create(
        user=user, aik_id=b64url_encode(keys.aik_id), ver=ver,
        envelope=_text(envelope.encode_aek_bind(bind)),
    )  # fmt: skip
    if not PasswordWrap.objects.filter(user=user).exists():
        PasswordWrap.objects.create(
            user=user, ver=1, m=DEFAULT_KDF.m, t=DEFAULT_KDF.t, p=DEFAULT_KDF.p,
            ct=b64url_encode(random_bytes(60)), state=PasswordWrap.State.ACTIVE, confirmed=True,
        )  # fmt: skip
    DeviceListVersion.objects.create(
        user=user, seq=dl.seq, aik_id=b64url_encode(dl.aik_id),
        msg_hash=b64url_encode(sha256(dl.message())),
        envelope=_text(envelope.encode_device_list(dl)),
    )  # fmt: skip
    return KeyedMember(membership, keys, uk, device_id, dl)


def make_cert(
    world: World,
    member: KeyedMember,
    *,
    issuer: KeyedMember | None = None,
    role: str | None = None,
    reason: str = "enrolled",
    valid_from: int | None = None,
) -> practice.MemberCert:
    """A certificate for the member's current AIK: PRSK-issued, or by `issuer`'s AIK."""
    return practice.issue_cert(
        world.prsk if issuer is None else issuer.keys.aik,
        issuer_kind="prsk" if issuer is None else "member",
        practice_id=world.practice.id,
        user_id=member.user.id,
        role=role or member.membership.role,
        aik_pub=member.keys.aik_pub,
        valid_from=now_ms() if valid_from is None else valid_from,
        reason=reason,
    )


def cert_json(world: World, key: str, **kwargs: Any) -> Json:
    return envelope.encode_cert(make_cert(world, world.member(key), **kwargs))


def store_cert(
    world: World, member: KeyedMember, cert: practice.MemberCert | None = None
) -> MemberCertificate:
    cert = cert or make_cert(world, member)
    return MemberCertificate.objects.create(
        practice=world.practice,
        user=member.user,
        role=cert.role,
        aik_pub=b64url_encode(cert.aik_pub),
        aik_id=b64url_encode(cert.aik_id),
        valid_from=cert.valid_from,
        reason=cert.reason,
        issuer_kind=cert.issuer_kind,
        issuer_key_id=b64url_encode(cert.issuer_key_id),
        envelope=_text(envelope.encode_cert(cert)),
        uploaded_by=member.user,
    )


def give_second_factor(user: User) -> None:
    """A TOTP authenticator row, so a staff member passes the two-step gate of `/api/`
    (quietroom.accounts.mfa_gate); the secret is never used by these tests. Owners and admins
    also get a passkey, which the gate asks of them for the key-management operations."""
    Authenticator.objects.get_or_create(
        user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "unused"}}
    )
    manages = Membership.objects.filter(
        user=user, removed_at__isnull=True, role__in=[Role.OWNER, Role.ADMIN]
    ).exists()
    if (
        manages
        and not Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).exists()
    ):
        give_passkey(user)


def keyed_world(personas: Personas, *, certify: bool = True) -> World:
    """Practice A of the personas with a config, every member of it keyed, and (by default)
    certified: staff by the PRSK, clients by their therapist's AIK (the removed member keeps
    the certificate it had before removal). The other practice's therapist gets keys and a
    certificate in a world of its own, reachable as `world.members["other_practice_therapist"]`."""
    world = install_config(personas.practice)
    for persona in personas.all():
        if persona.membership.practice_id != personas.practice.id:
            continue
        world.members[persona.key] = give_keys(world, persona.membership)
    other = install_config(personas.other_practice)
    world.members["other_practice_therapist"] = give_keys(
        other, personas.other_practice_therapist.membership
    )
    for member in world.members.values():
        give_second_factor(member.user)
    if certify:
        for key, member in world.members.items():
            if key == "other_practice_therapist":
                store_cert(other, member)
            elif member.membership.role == "client":
                issuer = world.member("therapist" if key == "client" else "other_therapist")
                store_cert(world, member, make_cert(world, member, issuer=issuer))
            else:
                store_cert(world, member)
    return world
