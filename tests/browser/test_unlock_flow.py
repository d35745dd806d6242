"""Signing in unlocks the account's keys in Debian's Chromium against the real server
(crypto-protocol §4, §5, §9.1): on a remembered device the keys open again after a reload with
no password; Lock forgets them; a new browser registers itself in the signed device list once the
Secret Key is typed, and can remove another device; a password change keeps the same keys, which
then open with the new password only."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from quietroom.accounts import prelogin
from quietroom.crypto.encoding import b64url_decode
from quietroom.crypto.password import KdfParams, derive_password_keys
from quietroom.keys.models import AccountKeys, DeviceListVersion, DevWrap, PasswordWrap
from quietroom.practices.models import Membership
from tests.browser.test_join_flow import invite
from tests.browser.test_setup_flow import (
    SLOW,
    Owner,
    check_nothing_secret_sent,
    set_up_practice,
    strong_password,
)
from tests.browser.test_sign_in import NOT_RIGHT, nav, record_requests
from tests.conftest import CanaryScanner
from tests.harness.browser import ThirdPartyGuard
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)


def code_in_a_new_step(secret: str) -> str:
    """A TOTP code from a 30-second step no earlier code came from: allauth refuses a code
    that was used already, and the test used one moments ago."""
    step = int(time.time()) // 30
    time.sleep((step + 1) * 30 - time.time() + 0.5)
    return str(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))


def sign_in(
    page: Page,
    owner: Owner,
    *,
    password: str | None = None,
    type_secret_key: bool = False,
    remember: bool = False,
) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(owner.email)
    page.get_by_label("Password", exact=True).fill(password or owner.password)
    if type_secret_key:
        page.get_by_role("button", name="I'm practice staff").click()
        page.get_by_label("Secret Key").fill(owner.secret_key)
    if remember:
        page.get_by_label(re.compile("^Remember this device")).check()
    page.get_by_role("button", name="Sign in", exact=True).click()
    code = page.get_by_label("Authenticator code")
    expect(code).to_be_visible(timeout=SLOW)
    code.fill(code_in_a_new_step(owner.totp_secret))
    page.get_by_role("button", name="Continue").click()
    expect(nav(page).get_by_role("button", name="Sign out")).to_be_visible(timeout=SLOW)
    expect(page).to_have_url(re.compile(r"/$"), timeout=SLOW)


def open_security(page: Page) -> None:
    nav(page).get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")


def expect_unlocked(page: Page) -> None:
    expect(page.get_by_role("button", name="Lock now")).to_be_visible(timeout=SLOW)


def devices(page: Page) -> Locator:
    return page.get_by_role("list", name="Devices").get_by_role("listitem")


def new_context(browser: Browser, app_server: AppServer, guard: ThirdPartyGuard) -> BrowserContext:
    other = browser.new_context(base_url=app_server.url)
    other.set_default_timeout(60_000)  # as tests/harness/browser.py's context
    other.route("**/*", guard.handle)
    return other


def test_remembered_device_lock_and_a_new_device(
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    canary_scanner: CanaryScanner,
) -> None:
    owner, _ = set_up_practice(page)
    open_security(page)
    expect_unlocked(page)
    expect(devices(page)).to_have_count(1)
    expect(devices(page).first).to_contain_text("This browser (not remembered)")

    # Sign out and in again, asking to be remembered: the Secret Key comes from this device.
    sent = record_requests(page)
    nav(page).get_by_role("button", name="Sign out").click()
    expect(nav(page).get_by_role("link", name="Sign in")).to_be_visible()
    sign_in(page, owner, remember=True)
    open_security(page)
    expect_unlocked(page)
    expect(devices(page).first).to_contain_text("This browser (remembered)")

    # A reload forgets the keys; the remembered device opens them again without a password.
    page.reload()
    expect_unlocked(page)

    # Lock forgets them, and a reload does not undo it; the password unlocks again.
    page.get_by_role("button", name="Lock now").click()
    expect(page.get_by_text("Your account is locked in this tab")).to_be_visible()
    page.reload()
    expect(page.get_by_text("Your account is locked in this tab")).to_be_visible(timeout=SLOW)
    page.get_by_role("link", name="Unlock").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unlock your account")
    page.get_by_label("Password", exact=True).fill(owner.password + "x")
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("alert")).to_contain_text("not right", timeout=SLOW)
    page.get_by_label("Password", exact=True).fill(owner.password)
    page.get_by_role("button", name="Unlock").click()
    expect(page).to_have_url(re.compile(r"/$"), timeout=SLOW)
    open_security(page)
    expect_unlocked(page)

    # A new browser: the Secret Key is typed once, and the device joins the signed list.
    other = new_context(browser, app_server, third_party_guard)
    try:
        other_page = other.new_page()
        other_sent = record_requests(other_page)
        sign_in(other_page, owner, type_secret_key=True)
        open_security(other_page)
        expect_unlocked(other_page)
        expect(devices(other_page)).to_have_count(2)
        lists = DeviceListVersion.objects.filter(user__email=owner.email).order_by("seq")
        assert [v.seq for v in lists] == [1, 2]
        assert DevWrap.objects.filter(user__email=owner.email).count() == 1  # the first browser's

        # From the new browser, remove the first: a signed list revokes it, its dev_wrap goes.
        row = devices(other_page).filter(has_text="Another browser")
        row.get_by_role("button", name="Remove this device").click()
        expect(devices(other_page).filter(has_text="removed")).to_have_count(1, timeout=SLOW)
        assert DeviceListVersion.objects.filter(user__email=owner.email).count() == 3
        assert DevWrap.objects.filter(user__email=owner.email).count() == 0
        check_nothing_secret_sent(other_sent, owner.password, owner.secret_key)
    finally:
        other.close()

    check_nothing_secret_sent(sent, owner.password, owner.secret_key)
    assert canary_scanner.hits(owner.password) == []
    assert canary_scanner.hits(owner.secret_key) == []


def test_password_change_keeps_the_keys(page: Page, canary_scanner: CanaryScanner) -> None:
    owner, _ = set_up_practice(page)
    sent = record_requests(page)
    open_security(page)
    page.get_by_role("button", name="Change password").click()
    new_password = strong_password()
    page.get_by_label("Current password").fill(owner.password + "x")
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password again").fill(new_password)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That password or Secret Key is not right.", timeout=SLOW
    )
    page.get_by_label("Current password").fill(owner.password)
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("New password again").fill(new_password)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible(timeout=SLOW)
    wraps = PasswordWrap.objects.filter(user__email=owner.email)
    assert [(w.ver, w.confirmed) for w in wraps] == [(2, True)]

    # Signed out, the old password no longer works; the new one signs in and opens the keys.
    nav(page).get_by_role("button", name="Sign out").click()
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(owner.email)
    page.get_by_label("Password", exact=True).fill(owner.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(NOT_RIGHT, timeout=SLOW)
    sign_in(page, owner, password=new_password)
    open_security(page)
    expect_unlocked(page)
    expect(devices(page)).to_have_count(1)

    check_nothing_secret_sent(sent, owner.password, new_password, owner.secret_key)
    assert canary_scanner.hits(new_password) == []


def test_sign_in_creates_keys_an_account_is_missing(
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
) -> None:
    """A client whose browser stopped between sign-up and storing keys gets them at sign-in."""
    set_up_practice(page)
    therapist = Membership.objects.get(role="owner")  # owners may not invite clients: use the
    therapist.role = "therapist"  # owner row as the inviting therapist, the server is not asked
    email = "late.keys@example.org"
    token = invite(therapist, email, "client")
    password = strong_password()
    answer = prelogin.prelogin(email)
    auth_key = derive_password_keys(
        password, b64url_decode(answer.salt), KdfParams(m=answer.m, t=answer.t, p=answer.p)
    ).auth_key

    context = new_context(browser, app_server, third_party_guard)
    try:
        client_page = context.new_page()
        client_page.goto("/protection")
        # Open the invitation and sign up with the page's own session, but store no keys.
        status = client_page.evaluate(
            """async ([token, email, authKey]) => {
                const json = {"Content-Type": "application/json", Accept: "application/json"};
                await fetch("/_allauth/browser/v1/auth/session");
                const csrf = () => decodeURIComponent(document.cookie.split("; ")
                    .find((c) => /^(__Host-)?qr-csrf=/.test(c)).split("=")[1]);
                const headers = {...json, "X-CSRFToken": csrf()};
                await fetch("/api/invitations/open",
                    {method: "POST", headers, body: JSON.stringify({token})});
                const up = await fetch("/_allauth/browser/v1/auth/signup",
                    {method: "POST", headers, body: JSON.stringify({email, password: authKey})});
                // Signing up rotated the CSRF token.
                await fetch("/_allauth/browser/v1/auth/session",
                    {method: "DELETE", headers: {...json, "X-CSRFToken": csrf()}});
                return up.status;
            }""",
            [token, email, auth_key],
        )
        assert status == 200
        assert not AccountKeys.objects.filter(user__email=email).exists()
        assert client_page.request.get("/api/session").status == 401

        client_page.goto("/sign-in")
        client_page.get_by_label("Email address").fill(email)
        client_page.get_by_label("Password", exact=True).fill(password)
        client_page.get_by_role("button", name="Sign in", exact=True).click()
        expect(nav(client_page).get_by_role("button", name="Sign out")).to_be_visible(timeout=SLOW)
        open_security(client_page)
        expect_unlocked(client_page)
        assert AccountKeys.objects.filter(user__email=email).exists()
        session = client_page.request.get("/api/session").json()
        assert session["keys"] == "ready"
    finally:
        context.close()
