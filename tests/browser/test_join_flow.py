"""Joining a practice from an invitation in Debian's Chromium against the real server: the
invitation opens, the practice's signing key is pinned and its security code shown (the same as
on the owner's recovery sheet), the account is created with an authKey, its keys are made in the
browser and stored sealed; staff then enrol two-step verification and save their Emergency Kit,
and everyone sees that the practice has yet to confirm their keys (crypto-protocol §3 to §6.4)."""

from __future__ import annotations

import re
import secrets

import pytest
from django.core import mail
from playwright.sync_api import Browser, BrowserContext, Page, expect

from quietroom.accounts.models import User
from quietroom.keys.models import AccountKeys, DeviceListVersion
from quietroom.practices.invitations import create_invitation
from quietroom.practices.models import Membership, Practice
from tests.browser.test_setup_flow import (
    SLOW,
    check_nothing_secret_sent,
    enrol_totp_on_page,
    fill_new_password,
    save_emergency_kit,
    set_up_practice,
    strong_password,
)
from tests.browser.test_sign_in import record_requests
from tests.conftest import CanaryScanner
from tests.harness.browser import ThirdPartyGuard
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)

WAITING = "Waiting for your practice to confirm your keys"
TWO_STEP = "Turn on two-step verification"


def new_context(browser: Browser, app_server: AppServer, guard: ThirdPartyGuard) -> BrowserContext:
    other = browser.new_context(base_url=app_server.url)
    other.set_default_timeout(60_000)  # as the harness's own context (tests/harness/browser.py)
    other.route("**/*", guard.handle)
    return other


def invite(inviter: Membership, email: str, role: str) -> str:
    mail.outbox.clear()
    create_invitation(inviter, email, role)
    match = re.search(r"/join#token=([A-Za-z0-9_-]+)", str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    return match.group(1)


def join_through_page(page: Page, token: str, name: str, password: str) -> str:
    """Fills the join form; returns the practice security code the page showed."""
    page.goto(f"/join#token={token}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Join", timeout=SLOW)
    code = page.get_by_label("Practice security code")
    expect(code).to_be_visible(timeout=SLOW)
    shown = (code.text_content() or "").replace(" ", "")
    page.get_by_label("Your name").fill(name)
    fill_new_password(page, password)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(re.compile(r"/welcome$"), timeout=SLOW)
    return shown


def test_a_therapist_and_a_client_join(
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    canary_scanner: CanaryScanner,
) -> None:
    owner, sheet_code = set_up_practice(page)
    practice = Practice.objects.get()
    owner_membership = Membership.objects.get(practice=practice, role="owner")

    # A therapist, in a browser of their own.
    therapist_email = f"therapist-{secrets.token_hex(4)}@example.org"
    token = invite(owner_membership, therapist_email, "therapist")
    therapist_context = new_context(browser, app_server, third_party_guard)
    try:
        therapist_page = therapist_context.new_page()
        sent = record_requests(therapist_page)
        therapist_password = strong_password()
        shown = join_through_page(therapist_page, token, "Dr Rivera", therapist_password)
        assert shown == sheet_code  # the code to compare with what the practice published
        expect(therapist_page.get_by_role("heading", name=TWO_STEP)).to_be_visible()
        enrol_totp_on_page(therapist_page)
        secret_key = save_emergency_kit(therapist_page)
        expect(therapist_page.get_by_text(WAITING)).to_be_visible(timeout=SLOW)
        therapist = User.objects.get(email=therapist_email)
        assert therapist.display_name == "Dr Rivera"  # saved once two-step verification was on
        keys = AccountKeys.objects.get(user=therapist)
        assert keys.keys_locked is False
        assert DeviceListVersion.objects.filter(user=therapist).count() == 1
        session = therapist_page.request.get("/api/session").json()
        assert session["keys"] == "ready"
        assert session["certified"] is False
        compact_key = secret_key.replace("-", "")[3:]
        check_nothing_secret_sent(sent, therapist_password, secret_key, compact_key)
        assert canary_scanner.hits(therapist_password) == []
        assert canary_scanner.hits(secret_key) == []
        assert canary_scanner.hits(compact_key) == []
    finally:
        therapist_context.close()

    # A client invited by the therapist: no Secret Key, no two-step step.
    therapist_membership = Membership.objects.get(user__email=therapist_email)
    client_email = f"client-{secrets.token_hex(4)}@example.org"
    token = invite(therapist_membership, client_email, "client")
    client_context = new_context(browser, app_server, third_party_guard)
    try:
        client_page = client_context.new_page()
        sent = record_requests(client_page)
        client_password = strong_password()
        assert join_through_page(client_page, token, "Sam Client", client_password) == sheet_code
        expect(client_page.get_by_text(WAITING)).to_be_visible(timeout=SLOW)
        expect(client_page.get_by_role("heading", name=TWO_STEP)).to_have_count(0)
        expect(client_page.get_by_label("Secret Key", exact=True)).to_have_count(0)
        client = User.objects.get(email=client_email)
        assert client.display_name == "Sam Client"
        assert AccountKeys.objects.filter(user=client).exists()
        check_nothing_secret_sent(sent, client_password)
        assert canary_scanner.hits(client_password) == []

        # The link is used up.
        client_page.goto(f"/join#token={token}")
        expect(client_page.get_by_role("alert")).to_contain_text("cannot be used", timeout=SLOW)
    finally:
        client_context.close()
    assert owner.password not in sheet_code
