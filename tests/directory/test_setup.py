"""Practice set-up (crypto-protocol §6.1, docs/api/keys.md "Practice set-up"): the whole ceremony's
upload checked with the protocol core, stored in one transaction, the link used up, and nothing
written on any refusal."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from quietroom.accounts.models import KdfParams, User
from quietroom.accounts.prelogin import formula_salt
from quietroom.audit.models import AuditEvent
from quietroom.crypto import envelope, practice
from quietroom.crypto.encoding import b64url_encode
from quietroom.crypto.keys import raw_seed
from quietroom.directory.models import MemberCertificate, PracticeConfigVersion, PrskWrap
from quietroom.keys.models import AccountKeys
from quietroom.practices.models import Membership, Practice, SetupLink
from quietroom.practices.services import hash_token, issue_setup_link
from tests.conftest import CanaryScanner
from tests.directory.world import (
    account_keys_in,
    give_second_factor,
    new_account_keys,
    now_ms,
    uuid7,
)
from tests.test_signin import BASE, FAST_HASHER, Browser, new_auth_key

pytestmark = pytest.mark.django_db

Json = dict[str, Any]
NAME = "Harbour Lane Therapy"
EMAIL = "Robin@Harbour.example"


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHER


class Ceremony:
    """What the owner's browser makes at set-up, as JSON, with hooks to spoil any part."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.practice_id = uuid7()
        self.owner_id = uuid7()
        self.keys = practice.PracticeKeys.generate(self.practice_id)
        self.account = new_account_keys()
        self.auth_key = new_auth_key()
        self.config = practice.sign_config(
            self.keys.prsk,
            practice_id=self.practice_id,
            seq=1,
            prev_hash=bytes(32),
            prk_pub=self.keys.prk_pub,
            name=NAME,
        )
        self.cert = practice.issue_cert(
            self.keys.prsk,
            issuer_kind="prsk",
            practice_id=self.practice_id,
            user_id=self.owner_id,
            role="owner",
            aik_pub=self.account.aik_pub,
            valid_from=now_ms(),
            reason="enrolled",
        )
        self.prsk_wrap = practice.seal_prsk_wrap(
            self.account.aek_pub,
            self.keys.prsk,
            practice_id=self.practice_id,
            admin_user_id=self.owner_id,
        )

    def body(self) -> Json:
        keys_in, _, _ = account_keys_in(self.owner_id, EMAIL, self.account, self.keys)
        return {
            "token": self.token,
            "practice": {"id": str(self.practice_id), "name": NAME},
            "owner": {
                "id": str(self.owner_id),
                "email": EMAIL,
                "display_name": "Robin Ash",
                "auth_key": self.auth_key,
            },
            "config": envelope.encode_config(self.config),
            "keys": keys_in,
            "cert": envelope.encode_cert(self.cert),
            "prsk_wrap": b64url_encode(self.prsk_wrap),
        }


def post(path: str, body: Json, address: str = "127.0.0.1") -> Any:
    return Client(REMOTE_ADDR=address).post(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def ceremony() -> Ceremony:
    token = issue_setup_link()
    assert token is not None
    return Ceremony(token)


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "emails": EmailAddress.objects.count(),
        "practices": Practice.objects.count(),
        "memberships": Membership.objects.count(),
        "configs": PracticeConfigVersion.objects.count(),
        "certs": MemberCertificate.objects.count(),
        "wraps": PrskWrap.objects.count(),
        "keys": AccountKeys.objects.count(),
        "kdf": KdfParams.objects.count(),
        "events": AuditEvent.objects.count(),
        "used_links": SetupLink.objects.filter(used_at__isnull=False).count(),
    }


def refused(ceremony: Ceremony, body: Json, status: int = 400, crypto: str | None = None) -> Json:
    before = counts()
    response = post("/api/setup/practice", body)
    assert response.status_code == status, response.content
    assert counts() == before
    error: Json = response.json()["error"]
    if crypto is not None:
        assert error.get("crypto") == crypto, error
    assert ceremony.auth_key not in response.content.decode()
    return error


# -- the happy path ------------------------------------------------------------------------------


def test_check_answers_ok_for_a_usable_link(ceremony: Ceremony) -> None:
    response = post("/api/setup/check", {"token": ceremony.token})
    assert (response.status_code, response.json()) == (200, {"ok": True})
    unknown = post("/api/setup/check", {"token": "x" * 43})
    assert unknown.status_code == 404


def test_set_up_creates_everything_and_the_owner_signs_in(ceremony: Ceremony) -> None:
    body = ceremony.body()
    response = post("/api/setup/practice", body)
    assert response.status_code == 201, response.content
    assert response.json() == {
        "practice_id": str(ceremony.practice_id),
        "user_id": str(ceremony.owner_id),
    }
    user = User.objects.get(pk=ceremony.owner_id)
    assert user.email == EMAIL.lower()
    assert user.display_name == "Robin Ash"
    assert user.check_password(ceremony.auth_key)
    assert KdfParams.objects.get(user=user).salt == formula_salt(EMAIL)
    assert EmailAddress.objects.get(user=user).verified
    membership = Membership.objects.get(user=user)
    assert (membership.practice_id, membership.role) == (ceremony.practice_id, "owner")
    config = PracticeConfigVersion.objects.get(practice_id=ceremony.practice_id)
    assert json.loads(config.envelope) == body["config"]
    cert = MemberCertificate.objects.get(user=user)
    assert json.loads(cert.envelope) == body["cert"]
    keys = AccountKeys.objects.get(user=user)
    assert keys.aik_pub == b64url_encode(ceremony.account.aik_pub)
    wrap = PrskWrap.objects.get(user=user)
    assert (wrap.ct, wrap.aek_id) == (body["prsk_wrap"], keys.aek_id)
    assert SetupLink.objects.get().used_at is not None
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    for action in ("practice.created", "auth.signup", "keys.created", "cert.issued"):
        assert action in actions
    assert "prsk_wrap.created" in actions
    assert ceremony.auth_key not in json.dumps(list(AuditEvent.objects.values()), default=str)

    # The browser then signs in through allauth with the same email and authKey.
    browser = Browser()
    login = browser.login(EMAIL, ceremony.auth_key)
    assert login.status_code == 200, login.content
    session = browser.get("/api/session").json()
    assert session["user_id"] == str(ceremony.owner_id)
    assert session["memberships"][0]["role"] == "owner"

    # And, with a second factor, the owner reads the directory: their own certified entry.
    give_second_factor(user)
    answer = browser.get(f"/api/practices/{ceremony.practice_id}/directory")
    assert answer.status_code == 200, answer.content
    entries = answer.json()["entries"]
    assert [e["user_id"] for e in entries] == [str(ceremony.owner_id)]
    assert entries[0]["certs"] == [body["cert"]]


def test_the_link_works_once(ceremony: Ceremony) -> None:
    assert post("/api/setup/practice", ceremony.body()).status_code == 201
    again = Ceremony(ceremony.token)
    refused(again, again.body(), status=404)
    assert post("/api/setup/check", {"token": ceremony.token}).status_code == 404


def test_expired_and_unknown_links_are_404(ceremony: Ceremony) -> None:
    SetupLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    error = refused(ceremony, ceremony.body(), status=404)
    assert error["code"] == "not_found"
    body = ceremony.body()
    body["token"] = "y" * 43
    refused(ceremony, body, status=404)


def test_a_second_practice_is_refused(ceremony: Ceremony) -> None:
    assert post("/api/setup/practice", ceremony.body()).status_code == 201
    # Even with a fresh, valid link (made behind the server's back: the CLI refuses).
    assert issue_setup_link() is None
    SetupLink.objects.create(
        token_hash=hash_token("z" * 43),
        expires_at=timezone.now() + timedelta(days=1),
    )
    second = Ceremony("z" * 43)
    assert post("/api/setup/check", {"token": "z" * 43}).status_code == 404
    refused(second, second.body(), status=409)


# -- refusals ------------------------------------------------------------------------------------


def test_bad_config_signature(ceremony: Ceremony) -> None:
    body = ceremony.body()
    sig = bytearray(ceremony.config.sig)
    sig[0] ^= 1
    body["config"]["sig"] = b64url_encode(bytes(sig))
    refused(ceremony, body, crypto="E_SIG")


def test_config_must_name_the_practice_and_start_the_chain(ceremony: Ceremony) -> None:
    for name, seq, prev in ((NAME + " Ltd", 1, bytes(32)), (NAME, 2, bytes(32))):
        config = practice.sign_config(
            ceremony.keys.prsk,
            practice_id=ceremony.practice_id,
            seq=seq,
            prev_hash=prev,
            prk_pub=ceremony.keys.prk_pub,
            name=name,
        )
        body = ceremony.body()
        body["config"] = envelope.encode_config(config)
        refused(ceremony, body, crypto="E_CERT")


def test_cert_for_a_different_aik(ceremony: Ceremony) -> None:
    other = new_account_keys()
    cert = practice.issue_cert(
        ceremony.keys.prsk,
        issuer_kind="prsk",
        practice_id=ceremony.practice_id,
        user_id=ceremony.owner_id,
        role="owner",
        aik_pub=other.aik_pub,
        valid_from=now_ms(),
        reason="enrolled",
    )
    body = ceremony.body()
    body["cert"] = envelope.encode_cert(cert)
    refused(ceremony, body, crypto="E_CERT")


def test_cert_signed_by_another_prsk(ceremony: Ceremony) -> None:
    stranger = practice.PracticeKeys.generate(ceremony.practice_id)
    cert = practice.issue_cert(
        stranger.prsk,
        issuer_kind="prsk",
        practice_id=ceremony.practice_id,
        user_id=ceremony.owner_id,
        role="owner",
        aik_pub=ceremony.account.aik_pub,
        valid_from=now_ms(),
        reason="enrolled",
    )
    body = ceremony.body()
    body["cert"] = envelope.encode_cert(cert)
    refused(ceremony, body, crypto="E_CERT")


def test_wrong_practice_name(ceremony: Ceremony) -> None:
    body = ceremony.body()
    body["practice"]["name"] = "Another Name"
    refused(ceremony, body, crypto="E_CERT")


def test_ids_must_be_uuid7(ceremony: Ceremony) -> None:
    body = ceremony.body()
    body["owner"]["id"] = str(uuid.uuid4())
    refused(ceremony, body)


def test_a_password_instead_of_an_auth_key(ceremony: Ceremony) -> None:
    body = ceremony.body()
    body["owner"]["auth_key"] = "correct horse battery staple"
    error = refused(ceremony, body)
    assert "correct horse" not in json.dumps(error)


def test_email_in_use(ceremony: Ceremony) -> None:
    User.objects.create_user(EMAIL.upper())
    refused(ceremony, ceremony.body(), status=409)


def test_keys_refused_by_the_account_key_checks(ceremony: Ceremony) -> None:
    body = ceremony.body()
    body["keys"]["rec_escrow"]["prk_id"] = b64url_encode(bytes(16))
    refused(ceremony, body, crypto="E_WRAP")


def test_unknown_fields_are_refused(ceremony: Ceremony) -> None:
    body = ceremony.body()
    body["owner"]["is_admin"] = True
    refused(ceremony, body)


def test_set_up_is_rate_limited(ceremony: Ceremony, settings: Any) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "setup": "2/m/ip"}
    codes = [post("/api/setup/check", {"token": "q" * 43}).status_code for _ in range(3)]
    assert codes == [404, 404, 429]
    assert post("/api/setup/check", {"token": ceremony.token}, "10.0.0.9").status_code == 200


def test_sign_in_before_set_up_fails(ceremony: Ceremony) -> None:
    assert Browser().login(EMAIL, ceremony.auth_key).status_code != 200
    assert BASE.startswith("/_allauth")


@pytest.mark.django_db(transaction=True)  # committed, so the scan sees what is on disk
def test_no_secret_reaches_the_database_or_the_logs(canary_scanner: CanaryScanner) -> None:
    token = issue_setup_link()
    assert token is not None
    ceremony = Ceremony(token)
    spoiled = ceremony.body()
    spoiled["config"]["sig"] = b64url_encode(bytes(64))
    assert post("/api/setup/practice", spoiled).status_code == 400
    assert post("/api/setup/practice", ceremony.body()).status_code == 201
    # The authKey is stored only as allauth's hash; the seeds never leave the browser.
    for secret in (
        ceremony.auth_key,
        ceremony.token,
        ceremony.keys.sheet_payload(),
        b64url_encode(raw_seed(ceremony.keys.prsk)),
        b64url_encode(raw_seed(ceremony.keys.prk)),
    ):
        assert canary_scanner.hits(secret) == []
    assert canary_scanner.hits(str(ceremony.owner_id))  # the scan does see the database
