"""No way to learn whether an email has an account here (AU-03): password-reset requests,
prelogin, sign-in, and creating and opening invitations answer a known and an unknown email
with the same status, the same JSON (but for fields that must differ, such as a salt or an id)
and the same headers, in about the same time.

On timing: each pair is measured over many interleaved runs (known and unknown alternate, and
which goes first alternates too, so drift in the machine's load hits both sides alike), the
rate-limit counters are reset before every call so that neither side is refused, and only the
medians are compared, which ignores the odd garbage collection or disk flush. The bound is
25 ms plus 10% of the slower median, generous on purpose, so that the noise of a loaded CI
machine (other test runs share it) stays inside it and the test does not flake; real extra
work for one side (a query, a render, a hash) would still show. What differs by design is
cheap: the known side of a reset request renders and queues one email, and a failed sign-in
for a known account writes an audit row with an actor.

Sign-in is the one place where the bulk of the time is a password hash (Argon2id with
m = 100 MiB, p = 8), and on a shared two-core machine one hash takes anywhere from 180 to
800 ms depending on what else runs: no sample size makes medians of that stable. So sign-in
is checked in two parts: a hash counter proves that both sides pay exactly one hash (allauth
verifies the account's hash, or hashes the typed key for an unknown email), and the timing,
measured with a cheap hasher, covers everything else the request does.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings

from quietroom.practices.models import Invitation
from tests.harness.browser import record_sign_in
from tests.harness.personas import Persona, Personas
from tests.test_signin import BASE, Browser, give_sign_in, new_auth_key

pytestmark = pytest.mark.django_db

RUNS = 15
WARMUP = 2
TOLERANCE_SECONDS = 0.025
TOLERANCE_SHARE = 0.10

Call = Callable[[int], Any]


@dataclass(frozen=True)
class Timing:
    known: float  # median seconds
    unknown: float

    def assert_alike(self) -> None:
        allowed = TOLERANCE_SECONDS + TOLERANCE_SHARE * max(self.known, self.unknown)
        gap = abs(self.known - self.unknown)
        assert gap < allowed, (
            f"medians {self.known * 1000:.1f} ms (known) and {self.unknown * 1000:.1f} ms"
            f" (unknown) differ by more than {allowed * 1000:.1f} ms"
        )


def measure(known: Call, unknown: Call, runs: int = RUNS) -> tuple[list[Any], list[Any], Timing]:
    """Both sides' responses (warm-up runs left out), and their median times."""
    sides: dict[str, tuple[Call, list[float], list[Any]]] = {
        "known": (known, [], []),
        "unknown": (unknown, [], []),
    }
    for run in range(WARMUP + runs):
        order = ["known", "unknown"] if run % 2 == 0 else ["unknown", "known"]
        for name in order:
            call, times, answers = sides[name]
            cache.clear()  # rate-limit counters: neither side may be refused for volume
            start = time.perf_counter()
            answer = call(run)
            elapsed = time.perf_counter() - start
            if run >= WARMUP:
                times.append(elapsed)
                answers.append(answer)
    timing = Timing(statistics.median(sides["known"][1]), statistics.median(sides["unknown"][1]))
    return sides["known"][2], sides["unknown"][2], timing


def unknown_email(run: int) -> str:
    return f"nobody.{run}@example.org"


def header_names(response: Any) -> set[str]:
    return {name.lower() for name in response.headers}


def assert_alike(known: list[Any], unknown: list[Any], strip: Callable[[Any], Any]) -> None:
    for k, u in zip(known, unknown, strict=True):
        assert k.status_code == u.status_code
        assert strip(k.json()) == strip(u.json())
        assert header_names(k) == header_names(u)


def test_password_reset_request(personas: Personas) -> None:
    persona = personas.client
    give_sign_in(persona.user)
    browser = Browser()
    path = f"{BASE}/auth/password/request"

    known, unknown, timing = measure(
        lambda _: browser.post(path, {"email": persona.user.email}),
        lambda run: browser.post(path, {"email": unknown_email(run)}),
    )
    assert known[0].status_code == 200
    assert_alike(known, unknown, lambda body: body)
    # The known address did get its link; strangers get nothing (ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS).
    assert {tuple(m.to) for m in mail.outbox} == {(persona.user.email,)}
    timing.assert_alike()


def test_prelogin(personas: Personas) -> None:
    persona = personas.therapist
    client = Client()
    path = "/api/keys/prelogin"

    def ask(email: str) -> Any:
        return client.post(path, {"email": email}, content_type="application/json")

    known, unknown, timing = measure(
        lambda _: ask(persona.user.email), lambda run: ask(unknown_email(run))
    )
    assert known[0].status_code == 200

    def strip(body: dict[str, Any]) -> dict[str, Any]:
        # Each email has its own salt; only its form must match.
        salt = body.pop("salt")
        assert isinstance(salt, str)
        return {**body, "salt_length": len(salt)}

    assert_alike(known, unknown, strip)
    timing.assert_alike()


class CountingHasher(MD5PasswordHasher):
    """A cheap hasher that counts its work, so a test can see how many hashes a request paid."""

    algorithm = "counting-md5"
    work = 0
    _verifying = False

    def encode(self, password: str, salt: str) -> str:
        if not CountingHasher._verifying:  # MD5's verify re-encodes: that is the same hash
            CountingHasher.work += 1
        return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        CountingHasher.work += 1
        CountingHasher._verifying = True
        try:
            return super().verify(password, encoded)
        finally:
            CountingHasher._verifying = False


@override_settings(PASSWORD_HASHERS=["tests.test_enumeration.CountingHasher"])
def test_sign_in_with_a_wrong_key(personas: Personas) -> None:
    persona = personas.owner
    give_sign_in(persona.user)  # hashed by CountingHasher, as the settings now say
    known_browser, unknown_browser = Browser(), Browser()

    def hashes(call: Call) -> Call:
        def counted(run: int) -> Any:
            before = CountingHasher.work
            response = call(run)
            response.hashes = CountingHasher.work - before
            return response

        return counted

    known, unknown, timing = measure(
        hashes(lambda _: known_browser.login(persona.user.email, new_auth_key())),
        hashes(lambda run: unknown_browser.login(unknown_email(run), new_auth_key())),
    )
    assert known[0].status_code == 400
    assert_alike(known, unknown, lambda body: body)
    assert {r.hashes for r in known} == {r.hashes for r in unknown} == {1}
    timing.assert_alike()


def _inviter(persona: Persona) -> Client:
    # Staff need a second factor for the API (accounts/mfa_gate.py); only its presence counts.
    if not Authenticator.objects.filter(user=persona.user).exists():
        Authenticator.objects.create(user=persona.user, type=Authenticator.Type.WEBAUTHN, data={})
    client = Client()
    client.force_login(persona.user)
    record_sign_in(client, persona.user)
    return client


def test_inviting_an_address_with_an_account_elsewhere(personas: Personas) -> None:
    owner = _inviter(personas.owner)
    path = f"/api/practices/{personas.practice.pk}/invitations"
    existing = personas.other_practice_therapist.user.email  # has an account, in another practice

    def invite(email: str) -> Any:
        body = {"email": email, "role": "therapist"}
        return owner.post(path, body, content_type="application/json")

    known, unknown, timing = measure(
        lambda _: invite(existing), lambda run: invite(unknown_email(run))
    )
    assert known[0].status_code == 201

    def strip(body: dict[str, Any]) -> list[str]:
        assert body["role"] == "therapist"
        return sorted(body)  # id, email and times differ by nature: compare the shape

    assert_alike(known, unknown, strip)
    timing.assert_alike()


def test_opening_an_invitation(
    personas: Personas, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    """An invitation for an address that has an account opens exactly like one for a new
    address; and a used, revoked or expired token is the same 404 as one never issued."""
    owner = _inviter(personas.owner)
    path = f"/api/practices/{personas.practice.pk}/invitations"
    tokens: dict[str, list[str]] = {"known": [], "unknown": []}
    existing = personas.other_practice_therapist.user.email
    for run in range(WARMUP + RUNS):
        for side, email in (("known", existing), ("unknown", unknown_email(run))):
            body = {"email": email, "role": "therapist"}
            with django_capture_on_commit_callbacks(execute=True):  # the email goes on commit
                answer = owner.post(path, body, content_type="application/json")
            assert answer.status_code == 201
            tokens[side].append(_last_token())
    client = Client()

    def open_token(token: str) -> Any:
        return client.post(
            "/api/invitations/open", {"token": token}, content_type="application/json"
        )

    known, unknown, timing = measure(
        lambda run: open_token(tokens["known"][run]),
        lambda run: open_token(tokens["unknown"][run]),
    )
    assert known[0].status_code == 200

    def strip(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "email": "(differs)"}

    assert_alike(known, unknown, strip)
    timing.assert_alike()

    # Tokens that stopped working and tokens that never existed: one answer.
    Invitation.objects.update(revoked_at=Invitation.objects.first().created_at)  # type: ignore[union-attr]
    dead, never, timing = measure(
        lambda run: open_token(tokens["known"][run]),
        lambda _: open_token(new_auth_key()),
    )
    assert dead[0].status_code == 404
    assert_alike(dead, never, lambda body: body)
    timing.assert_alike()


def _last_token() -> str:
    match = re.search(r"/join#token=([A-Za-z0-9_-]+)", str(mail.outbox[-1].body))
    assert match is not None
    return match.group(1)
