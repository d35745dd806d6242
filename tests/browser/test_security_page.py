"""The security page in Debian's Chromium against the real server: a person's own sign-in
history in plain words, their sessions (ending one elsewhere really ends it), and two-step
verification set up end to end, with the TOTP secret never stored in the clear (AU-06, AU-09)."""

from __future__ import annotations

import re
import secrets

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import Browser, BrowserContext, Page, expect

from quietroom.crypto.password import format_secret_key
from tests.browser.test_sign_in import (
    expect_signed_in,
    fresh_code,
    give_password,
    nav,
    sign_in_through_page,
)
from tests.conftest import CanaryScanner
from tests.harness.browser import ThirdPartyGuard
from tests.harness.personas import Personas
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)


def open_security_page(page: Page) -> None:
    nav(page).get_by_role("link", name="Security").click()
    expect(page).to_have_url(re.compile(r"/security$"))
    expect(page).to_have_title("Security · Quietroom")
    expect(page.get_by_role("heading", level=1)).to_have_text("Security")


def second_browser(
    browser: Browser, app_server: AppServer, guard: ThirdPartyGuard
) -> BrowserContext:
    other = browser.new_context(base_url=app_server.url)
    other.set_default_timeout(60_000)  # as tests/harness/browser.py's context
    other.route("**/*", guard.handle)
    return other


def test_history_lists_the_sign_in_with_its_network_and_browser(
    page: Page, personas: Personas
) -> None:
    user = personas.client.user
    password, _ = give_password(user)
    sign_in_through_page(page, user.email, password + "-wrong")
    expect(page.get_by_role("alert")).to_be_visible(timeout=20_000)
    sign_in_through_page(page, user.email, password)
    expect_signed_in(page)
    open_security_page(page)

    history = page.locator("ol.security-history > li")
    expect(history).to_have_count(2)
    expect(history.nth(0)).to_contain_text("Signed in")
    expect(history.nth(0)).to_contain_text("Chrome on Linux")
    expect(history.nth(0)).to_contain_text("127.0.0.0/24")
    expect(history.nth(0).locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    expect(history.nth(1)).to_contain_text("Sign-in failed")
    expect(history.nth(1)).to_have_class(re.compile(r"\bevent-failed\b"))  # highlighted


def test_ending_another_session_signs_that_browser_out(
    page: Page,
    personas: Personas,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
) -> None:
    user = personas.client.user
    password, _ = give_password(user)
    other = second_browser(browser, app_server, third_party_guard)
    try:
        phone = other.new_page()
        sign_in_through_page(phone, user.email, password)
        expect_signed_in(phone)

        sign_in_through_page(page, user.email, password)
        expect_signed_in(page)
        open_security_page(page)
        sessions = page.locator("ul.session-list > li")
        expect(sessions).to_have_count(2)
        expect(sessions.filter(has_text="This browser")).to_have_count(1)
        sessions.get_by_role("button", name="Sign out this session").click()
        expect(sessions).to_have_count(1)
        expect(sessions.first).to_contain_text("This browser")

        assert phone.request.get("/api/session").status == 401
        assert page.request.get("/api/session").status == 200
    finally:
        other.close()


def test_two_step_verification_is_set_up_end_to_end(
    page: Page, personas: Personas, canary_scanner: CanaryScanner
) -> None:
    user = personas.client.user
    password, _ = give_password(user)
    sign_in_through_page(page, user.email, password)
    expect_signed_in(page)
    open_security_page(page)
    expect(page.get_by_text("Two-step verification is off.")).to_be_visible()

    page.get_by_role("button", name="Set up an authenticator app").click()
    page.get_by_label("Password").fill(password + "-wrong")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That password or Secret Key is not right.", timeout=20_000
    )
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()

    shown = page.locator("code.totp-secret")
    expect(shown).to_be_visible(timeout=20_000)
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    grouped = shown.inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} )*[A-Z2-7]{1,4}", grouped), grouped
    secret = grouped.replace(" ", "")

    page.get_by_label("Code from the app").fill(fresh_code(secret))
    page.get_by_role("button", name="Turn on two-step verification").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    expect(page.get_by_role("button", name="Print the codes")).to_be_visible()
    page.get_by_role("button", name="I have saved them").click()
    expect(page.get_by_text(re.compile(r"^Authenticator app, added"))).to_be_visible()
    expect(page.get_by_text("Recovery codes: 10 of 10 unused")).to_be_visible()

    assert Authenticator.objects.filter(user=user, type="totp").exists()
    assert canary_scanner.hits(secret) == []
    assert canary_scanner.hits(password) == []


def test_staff_confirm_with_their_secret_key(page: Page, personas: Personas) -> None:
    user = personas.therapist.user
    secret_key = secrets.token_bytes(16)
    password, _ = give_password(user, secret_key)
    sign_in_through_page(page, user.email, password, format_secret_key(secret_key))
    expect_signed_in(page)
    open_security_page(page)
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.get_by_label("Password").fill(password)
    page.get_by_label("Secret Key").fill(format_secret_key(secret_key))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("code.totp-secret")).to_be_visible(timeout=20_000)


def test_security_page_fits_a_phone(page: Page, personas: Personas) -> None:
    user = personas.client.user
    password, _ = give_password(user)
    page.set_viewport_size({"width": 360, "height": 740})
    sign_in_through_page(page, user.email, password)
    expect_signed_in(page)
    page.goto("/security")
    expect(page.locator("ol.security-history > li")).to_have_count(1)
    expect(page.locator("ul.session-list > li")).to_have_count(1)
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("code.totp-secret")).to_be_visible(timeout=20_000)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"/security scrolls sideways by {overflow}px on a phone"
