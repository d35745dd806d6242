"""The sign-in page in Debian's Chromium against the real server: the password is turned into
an authKey in the browser (prelogin, Argon2id, HKDF) and never leaves it; wrong passwords,
wrong Secret Keys and unknown emails look alike; a second factor is asked for when enrolled;
signing out ends the session (crypto-protocol §3, AU-01, AU-03, AU-09, ENC-01)."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from playwright.sync_api import Locator, Page, Request, expect

from quietroom.accounts.models import KdfParams, User
from quietroom.crypto.encoding import b64url_decode
from quietroom.crypto.password import KdfParams as Argon2Params
from quietroom.crypto.password import derive_password_keys, format_secret_key
from tests.conftest import CanaryScanner
from tests.harness.personas import Personas
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)

NOT_RIGHT = "That email, password or Secret Key is not right."


def new_password() -> str:
    """A fresh password per test that is itself a canary: it must turn up nowhere."""
    return "pw-canary-" + secrets.token_hex(8)


def auth_key_for(user: User, password: str, secret_key: bytes | None = None) -> str:
    """The authKey exactly as the browser derives it: the account's real salt and parameters."""
    row = KdfParams.objects.get(user=user)
    params = Argon2Params(m=row.m, t=row.t, p=row.p)
    return derive_password_keys(password, b64url_decode(row.salt), params, secret_key).auth_key


def give_password(user: User, secret_key: bytes | None = None) -> tuple[str, str]:
    """Give a persona a password (and for staff a Secret Key) and a verified primary email,
    as a new account has them: no second factor yet (staff personas come with one for the API
    tests; tests here that want one call enrol_totp). Returns the password and its authKey."""
    Authenticator.objects.filter(user=user).delete()
    password = new_password()
    auth_key = auth_key_for(user, password, secret_key)
    user.set_password(auth_key)
    user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return password, auth_key


def enrol_totp(user: User) -> str:
    secret = str(generate_totp_secret())
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def fresh_code(secret: str) -> str:
    """The current code, waiting out the end of a 30-second step (the server accepts only the
    current step), so the code is still valid when the server checks it."""
    if time.time() % 30 > 24:
        time.sleep(30 - time.time() % 30 + 0.5)
    return str(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))


@dataclass
class Sent:
    method: str
    url: str
    body: str


def record_requests(page: Page) -> list[Sent]:
    sent: list[Sent] = []

    def on_request(request: Request) -> None:
        sent.append(Sent(request.method, request.url, request.post_data or ""))

    page.on("request", on_request)
    return sent


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def sign_in_through_page(
    page: Page, email: str, password: str, secret_key: str | None = None
) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    if secret_key is not None:
        page.get_by_role("button", name="I'm practice staff").click()
        page.get_by_label("Secret Key").fill(secret_key)
    page.get_by_role("button", name="Sign in", exact=True).click()


def expect_signed_in(page: Page) -> None:
    expect(nav(page).get_by_role("button", name="Sign out")).to_be_visible(timeout=20_000)
    # Staff without two-step verification land on its enrolment (/welcome), everyone else home.
    expect(page).to_have_url(re.compile(r"/(welcome)?$"))
    expect(nav(page).get_by_role("link", name="Security")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Sign in")).to_have_count(0)


def storage_text(page: Page) -> str:
    text: str = page.evaluate(
        "JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
        " document.cookie, location.href])"
    )
    return text


# --- Signing in ----------------------------------------------------------------------------


def test_client_signs_in_and_the_password_goes_nowhere(
    page: Page, personas: Personas, canary_scanner: CanaryScanner
) -> None:
    user = personas.client.user
    password, auth_key = give_password(user)
    sent = record_requests(page)

    sign_in_through_page(page, user.email, password)
    expect_signed_in(page)
    assert page.request.get("/api/session").json()["user_id"] == str(user.id)

    # What the page sent: prelogin with the email, then login with the derived authKey only.
    posts = [s for s in sent if s.method == "POST"]
    assert [s.url.split("/", 3)[-1] for s in posts] == [
        "api/keys/prelogin",
        "_allauth/browser/v1/auth/login",
    ]
    assert auth_key in posts[1].body
    for request in sent:
        assert password not in request.url, request.url
        assert password not in request.body, request.url
    assert password not in storage_text(page)
    expect(page.get_by_label("Password")).to_have_count(0)  # the form is gone with its value
    assert canary_scanner.hits(password) == []
    assert canary_scanner.hits(user.email)  # the scan does see the database


def test_wrong_password_and_unknown_email_give_the_same_message(
    page: Page, personas: Personas
) -> None:
    user = personas.client.user
    password, _ = give_password(user)

    sign_in_through_page(page, user.email, password + "x")
    wrong = page.get_by_role("alert")
    expect(wrong).to_have_text(NOT_RIGHT, timeout=20_000)

    sign_in_through_page(page, "nobody-here@personas.quietroom.test", password)
    expect(page.get_by_role("alert")).to_have_text(NOT_RIGHT, timeout=20_000)
    expect(nav(page).get_by_role("link", name="Sign in")).to_be_visible()
    assert page.request.get("/api/session").status == 401


def test_staff_signs_in_only_with_the_right_secret_key(page: Page, personas: Personas) -> None:
    user = personas.therapist.user
    secret_key = secrets.token_bytes(16)
    password, _ = give_password(user, secret_key)
    other_key = format_secret_key(secrets.token_bytes(16))

    sign_in_through_page(page, user.email, password)  # no Secret Key at all
    expect(page.get_by_role("alert")).to_have_text(NOT_RIGHT, timeout=20_000)
    sign_in_through_page(page, user.email, password, other_key)
    expect(page.get_by_role("alert")).to_have_text(NOT_RIGHT, timeout=20_000)
    assert page.request.get("/api/session").status == 401

    # Typed in lower case with spaces instead of hyphens: the parser ignores both.
    typed = format_secret_key(secret_key).lower().replace("-", " ")
    sign_in_through_page(page, user.email, password, typed)
    expect_signed_in(page)
    expect(nav(page).get_by_role("link", name="Audit trail")).to_be_visible()


def test_malformed_secret_key_is_refused_before_anything_is_sent(
    page: Page, personas: Personas
) -> None:
    user = personas.therapist.user
    password, _ = give_password(user, secrets.token_bytes(16))
    sent = record_requests(page)
    sign_in_through_page(page, user.email, password, "QR1-NOT-A-KEY")
    expect(page.get_by_role("alert")).to_contain_text("does not look like a Secret Key")
    assert [s for s in sent if s.method == "POST"] == []


def test_second_factor_is_asked_for_and_a_code_gets_in(
    page: Page, personas: Personas, canary_scanner: CanaryScanner
) -> None:
    user = personas.client.user
    password, _ = give_password(user)
    secret = enrol_totp(user)

    sign_in_through_page(page, user.email, password)
    code_field = page.get_by_label("Authenticator code")
    expect(code_field).to_be_visible(timeout=20_000)
    assert page.request.get("/api/session").status == 401  # not signed in on the password alone

    code_field.fill("000000" if fresh_code(secret) != "000000" else "111111")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")

    page.get_by_label("Authenticator code").fill(fresh_code(secret))
    page.get_by_role("button", name="Continue").click()
    expect_signed_in(page)
    assert canary_scanner.hits(password) == []


def test_recovery_code_gets_in(page: Page, personas: Personas) -> None:
    user = personas.client.user
    password, _ = give_password(user)
    enrol_totp(user)
    recovery = RecoveryCodes.activate(user).get_unused_codes()[0]

    sign_in_through_page(page, user.email, password)
    expect(page.get_by_label("Authenticator code")).to_be_visible(timeout=20_000)
    page.get_by_role("button", name=re.compile("use a recovery code")).click()
    page.get_by_label("Recovery code").fill(recovery)
    page.get_by_role("button", name="Continue").click()
    expect_signed_in(page)


# --- Signing out ---------------------------------------------------------------------------


def test_sign_out_returns_to_the_signed_out_navigation(page: Page, personas: Personas) -> None:
    user = personas.owner.user
    secret_key = secrets.token_bytes(16)
    password, _ = give_password(user, secret_key)
    sign_in_through_page(page, user.email, password, format_secret_key(secret_key))
    expect_signed_in(page)

    nav(page).get_by_role("button", name="Sign out").click()
    expect(nav(page).get_by_role("link", name="Sign in")).to_be_visible()
    expect(nav(page).get_by_role("button", name="Sign out")).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Security")).to_have_count(0)
    assert page.request.get("/api/session").status == 401


# --- Phone width -----------------------------------------------------------------------------


def test_sign_in_page_fits_a_phone(page: Page, app_server: AppServer) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/sign-in")
    page.get_by_role("button", name="I'm practice staff").click()
    expect(page.get_by_label("Secret Key")).to_be_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"/sign-in scrolls sideways by {overflow}px on a phone"
