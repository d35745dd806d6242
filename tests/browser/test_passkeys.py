"""Passkeys in Debian's Chromium against the real server, with Chromium's virtual authenticator
(DevTools' WebAuthn domain): add one on the security page (after confirming the password, as
allauth requires), sign out, sign in with it, and remove it (AU-01; crypto-protocol §3.5).

WebAuthn refuses an IP address as the relying party, so these tests reach the same server as
`localhost` rather than 127.0.0.1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import Browser, BrowserContext, CDPSession, Page, expect

from quietroom.audit.models import AuditEvent
from tests.browser.test_sign_in import give_password, nav
from tests.harness.browser import ThirdPartyGuard, sign_in
from tests.harness.personas import Personas
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)

VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}


@pytest.fixture
def local_url(app_server: AppServer) -> str:
    return app_server.url.replace("127.0.0.1", "localhost")


@pytest.fixture
def third_party_guard(local_url: str) -> ThirdPartyGuard:
    return ThirdPartyGuard(app_origin=local_url)


@pytest.fixture
def context(
    browser: Browser, local_url: str, third_party_guard: ThirdPartyGuard
) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=local_url)
    ctx.route("**/*", third_party_guard.handle)
    yield ctx
    ctx.close()
    assert third_party_guard.blocked == [], f"third-party requests: {third_party_guard.blocked}"
    assert third_party_guard.csp_reports == [], f"CSP reports: {third_party_guard.csp_reports}"


def virtual_authenticator(context: BrowserContext, page: Page) -> tuple[CDPSession, str]:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added: dict[str, Any] = cdp.send(
        "WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR}
    )
    return cdp, str(added["authenticatorId"])


def open_security_page(page: Page) -> None:
    page.goto("/security")
    expect(page).to_have_url(re.compile(r"/security$"))
    expect(page.get_by_role("heading", name="Passkeys")).to_be_visible(timeout=20_000)


def passkey_section(page: Page) -> Any:
    return page.locator("section", has=page.get_by_role("heading", name="Passkeys"))


def add_passkey(page: Page, name: str, password: str) -> None:
    section = passkey_section(page)
    section.get_by_role("button", name="Add a passkey").click()
    section.get_by_role("form", name="Add a passkey").get_by_label("Name").fill(name)
    section.get_by_role("button", name="Create passkey").click()
    # allauth wants a fresh proof before a change to how the account signs in.
    confirm = section.get_by_role("form", name="Confirm it's you")
    expect(confirm).to_be_visible(timeout=20_000)
    confirm.get_by_label("Password").fill(password)
    confirm.get_by_role("button", name="Continue").click()
    expect(section.get_by_text("Passkey added.")).to_be_visible(timeout=30_000)


def test_add_passkey_sign_out_and_sign_in_with_it(
    page: Page, context: BrowserContext, personas: Personas, local_url: str
) -> None:
    user = personas.client.user
    password, _ = give_password(user)
    cdp, authenticator_id = virtual_authenticator(context, page)

    sign_in(context, user, local_url)  # a password sign-in's session, without the key unlock
    open_security_page(page)
    expect(passkey_section(page).get_by_text("You have no passkeys.")).to_be_visible()

    add_passkey(page, "Test laptop", password)
    section = passkey_section(page)
    expect(section.locator("ul.passkey-list > li")).to_have_count(1)
    expect(section.locator("ul.passkey-list > li")).to_contain_text("Test laptop")
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.WEBAUTHN)
    assert stored.data["name"] == "Test laptop"
    assert stored.wrap().is_passwordless is True  # credProps: a discoverable credential
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    [credential] = credentials["credentials"]
    assert credential["isResidentCredential"] is True  # discoverable: it can sign in alone

    nav(page).get_by_role("button", name="Sign out").click()
    expect(nav(page).get_by_role("link", name="Sign in")).to_be_visible(timeout=20_000)
    assert page.request.get("/api/session").status == 401

    logins_before = AuditEvent.objects.filter(action="auth.login", actor=user).count()
    page.goto("/sign-in")
    page.get_by_role("button", name="Sign in with a passkey").click()
    # No password was typed, so the keys stay locked until a remembered device or the
    # password opens them: the unlock page says so.
    expect(page.get_by_role("heading", name="Unlock your account")).to_be_visible(timeout=30_000)
    session = page.request.get("/api/session")
    assert session.status == 200
    assert session.json()["user_id"] == str(user.id)
    assert AuditEvent.objects.filter(action="auth.login", actor=user).count() == logins_before + 1


def test_remove_passkey_then_it_no_longer_signs_in(
    page: Page, context: BrowserContext, personas: Personas, local_url: str
) -> None:
    user = personas.client.user
    password, _ = give_password(user)
    virtual_authenticator(context, page)
    sign_in(context, user, local_url)  # a password sign-in's session, without the key unlock
    open_security_page(page)
    add_passkey(page, "Old phone", password)

    section = passkey_section(page)
    section.get_by_role("button", name="Remove passkey Old phone").click()
    expect(section.get_by_text("Passkey removed.")).to_be_visible(timeout=20_000)
    expect(section.get_by_text("You have no passkeys.")).to_be_visible()
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).exists()

    nav(page).get_by_role("button", name="Sign out").click()
    expect(nav(page).get_by_role("link", name="Sign in")).to_be_visible(timeout=20_000)
    page.goto("/sign-in")
    # The authenticator still holds the credential, but the server no longer knows it.
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("alert")).to_be_visible(timeout=30_000)
    assert page.request.get("/api/session").status == 401
