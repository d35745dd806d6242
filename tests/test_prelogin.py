"""POST /api/keys/prelogin (crypto-protocol.md §3.1, §3.2; AU-03): the salt formula, checked
against an independent computation; the same answer shape for known and unknown emails;
stable fake salts; KDF bounds enforced by the database; the per-address rate limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from typing import Any

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import Client

from quietroom.accounts.models import KdfParams, User
from tests.harness.personas import Personas

pytestmark = pytest.mark.django_db

URL = "/api/keys/prelogin"


def ask(email: Any, address: str = "127.0.0.1", **extra: Any) -> Any:
    body = {"email": email, **extra}
    return Client(REMOTE_ADDR=address).post(URL, body, content_type="application/json")


def independent_salt(email: str) -> str:
    """§3.1 written out again from the spec, sharing no code with the server."""
    secret = (settings.CONFIG.data_dir / "prelogin_secret").read_bytes()
    pieces = [b"qr/v1/salt", email.strip().lower().encode("utf-8")]
    pae = struct.pack("<Q", len(pieces))
    for piece in pieces:
        pae += struct.pack("<Q", len(piece)) + piece
    mac = hmac.new(secret, pae, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def test_unknown_email_gets_the_formula_salt_and_default_parameters() -> None:
    response = ask("Someone.New@Example.test")
    assert response.status_code == 200
    assert response.json() == {
        "salt": independent_salt("someone.new@example.test"),
        "kdf": {"alg": "argon2id", "m": 65536, "t": 3, "p": 1},
    }


def test_unknown_email_salt_is_stable_and_follows_allauths_normalisation() -> None:
    first = ask("repeat@example.test").json()["salt"]
    assert ask("repeat@example.test").json()["salt"] == first
    assert ask("  REPEAT@Example.TEST ").json()["salt"] == first
    assert ask("repeat2@example.test").json()["salt"] != first


def test_known_and_unknown_emails_answer_alike(personas: Personas) -> None:
    known = ask(personas.client.user.email)
    unknown = ask("not-a-client@example.test")
    assert known.status_code == unknown.status_code == 200
    assert known.json().keys() == unknown.json().keys()
    assert known.json()["kdf"] == unknown.json()["kdf"]
    assert len(known.json()["salt"]) == len(unknown.json()["salt"]) == 22
    assert dict(known.headers) == dict(unknown.headers)  # every header, value and length
    assert known.cookies.keys() == unknown.cookies.keys() == set()


def test_account_salt_is_fixed_at_creation(personas: Personas) -> None:
    user = personas.therapist.user
    created_with = user.email
    assert ask(created_with).json()["salt"] == independent_salt(created_with)
    # The salt never changes, not even with the email (§3.1): the new address gets the old salt.
    User.objects.filter(pk=user.pk).update(email="renamed@example.test")
    assert ask("renamed@example.test").json()["salt"] == independent_salt(created_with)


def test_account_gets_its_stored_parameters(personas: Personas) -> None:
    KdfParams.objects.filter(user=personas.owner.user).update(m=131072, t=4)
    kdf = ask(personas.owner.user.email).json()["kdf"]
    assert kdf == {"alg": "argon2id", "m": 131072, "t": 4, "p": 1}


@pytest.mark.parametrize(
    ("m", "t", "p", "ok"),
    [
        (32768, 3, 1, True),
        (1048576, 10, 1, True),
        (32767, 3, 1, False),
        (1048577, 3, 1, False),
        (65536, 2, 1, False),
        (65536, 11, 1, False),
        (65536, 3, 2, False),
        (65536, 3, 0, False),
    ],
)
def test_kdf_bounds_are_enforced_by_the_database(
    personas: Personas, m: int, t: int, p: int, ok: bool
) -> None:
    params = KdfParams.objects.get(user=personas.client.user)
    params.m, params.t, params.p = m, t, p
    if ok:
        params.save()
        return
    with pytest.raises(IntegrityError), transaction.atomic():
        params.save()


def test_secret_file_is_private_and_32_bytes() -> None:
    ask("anyone@example.test")
    path = settings.CONFIG.data_dir / "prelogin_secret"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_bytes()) == 32


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.test", "extra": 1},  # closed schema
        {"email": "not an email"},
        {"email": ""},
        {"email": 12345},
        {},
    ],
)
def test_bad_input_is_refused(body: dict[str, Any]) -> None:
    response = Client().post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid", "bad_request"}


def test_rate_limited_per_address_with_json_429() -> None:
    for _ in range(30):
        assert ask("limit@example.test", address="192.0.2.1").status_code == 200
    refused = ask("other@example.test", address="192.0.2.1")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert ask("limit@example.test", address="192.0.2.99").status_code == 200
