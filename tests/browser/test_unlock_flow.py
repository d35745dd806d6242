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

from quietroom.keys.models import DeviceListVersion, DevWrap, PasswordWrap
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
