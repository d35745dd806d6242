"""The team page in Debian's Chromium against the real server (crypto-protocol §6.3, §6.5):
an owner invites a therapist from the page, the therapist joins in a browser of their own and
reads their own code, and the owner compares it and issues the certificate with the PRSK in the
browser; the therapist then invites a client and certifies them with their own AIK. The third-
party and CSP guards are on for every context."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import Browser, BrowserContext, Page, expect

from quietroom.directory.models import MemberCertificate, PrskWrap
from quietroom.keys.models import AccountKeys
from quietroom.practices.models import Invitation, Practice
from tests.browser.test_join_flow import TWO_STEP, WAITING, join_through_page, new_context
from tests.browser.test_passkeys import virtual_authenticator
from tests.browser.test_setup_flow import (
    SLOW,
    add_passkey_on_welcome,
    enrol_totp_on_page,
    save_emergency_kit,
    set_up_practice,
    strong_password,
)
from tests.browser.test_sign_in import nav
from tests.harness.browser import ThirdPartyGuard
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)

JOIN_LINK = re.compile(r"/join#token=([A-Za-z0-9_-]+)")


def join_token(data_dir: Path, email: str) -> str:
    """The token of the newest invitation email the server wrote to its outbox for `email`."""
    box = data_dir / "outbox"
    for path in sorted(box.glob("*"), key=lambda p: p.stat().st_mtime, reverse=True):
        text = path.read_text(errors="replace").replace("=\n", "")
        if email in text and (m := JOIN_LINK.search(text)):
            return m.group(1)
    raise AssertionError(f"no invitation email for {email}")


def go(page: Page, link: str) -> None:
    """Navigate inside the app: a full page load would forget the keys of the tab."""
    nav(page).get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(link)


def invite_on_page(page: Page, email: str, role: str) -> None:
    go(page, "Team")
    form = page.get_by_role("form", name="Invite someone")
    form.get_by_label("Their email address").fill(email)
    form.get_by_label("As").select_option(role)
    form.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status").filter(has_text="Invitation sent")).to_contain_text(email)
    expect(page.get_by_role("list", name="Open invitations")).to_contain_text(email)


def own_code(page: Page) -> str:
    go(page, "Verify keys")
    code = page.get_by_role("list", name="Your own code")
    expect(code.get_by_role("listitem")).to_have_count(6, timeout=SLOW)
    return (code.text_content() or "").replace(" ", "")


def confirm_on_team_page(page: Page, name: str, expected_code: str) -> None:
    go(page, "Team")
    page.get_by_role("button", name="Check again").click()
    waiting = page.get_by_role("list", name="Waiting for confirmation")
    person = waiting.get_by_role("listitem").filter(has_text=name)
    code = person.get_by_role("list", name=f"{name}'s code")
    expect(code.get_by_role("listitem")).to_have_count(6, timeout=SLOW)
    assert (code.text_content() or "").replace(" ", "") == expected_code
    confirm = person.get_by_role("button", name=f"Confirm {name}")
    expect(confirm).to_be_disabled()  # not before the 30 digits were compared
    person.get_by_label(f"I compared all 30 digits with {name}").check()
    confirm.click()
    expect(page.get_by_role("status").filter(has_text="is confirmed")).to_contain_text(
        f"{name} is confirmed", timeout=SLOW
    )
    expect(page.get_by_text("Nobody is waiting.")).to_be_visible()


@dataclass
class Team:
    therapist_page: Page
    client_page: Page
    therapist_email: str
    client_email: str
    contexts: list[BrowserContext]
    client_password: str


def build_team(
    page: Page, browser: Browser, app_server: AppServer, guard: ThirdPartyGuard, data_dir: Path
) -> Team:
    """A practice set up through the UI, a therapist and a client, both certified through the
    team page. The caller closes `contexts`."""
    set_up_practice(page)
    contexts: list[BrowserContext] = []

    therapist_email = f"therapist-{secrets.token_hex(4)}@example.org"
    invite_on_page(page, therapist_email, "therapist")
    therapist_context = new_context(browser, app_server, guard)
    contexts.append(therapist_context)
    therapist_page = therapist_context.new_page()
    join_through_page(
        therapist_page, join_token(data_dir, therapist_email), "Dr Rivera", strong_password()
    )
    expect(therapist_page.get_by_role("heading", name=TWO_STEP)).to_be_visible()
    enrol_totp_on_page(therapist_page)
    save_emergency_kit(therapist_page)
    expect(therapist_page.get_by_text(WAITING)).to_be_visible(timeout=SLOW)

    confirm_on_team_page(page, "Dr Rivera", own_code(therapist_page))
    practice = Practice.objects.get()
    cert = MemberCertificate.objects.get(practice=practice, user__email=therapist_email)
    assert (cert.role, cert.issuer_kind, cert.reason) == ("therapist", "prsk", "enrolled")

    client_email = f"client-{secrets.token_hex(4)}@example.org"
    invite_on_page(therapist_page, client_email, "client")
    client_context = new_context(browser, app_server, guard)
    contexts.append(client_context)
    client_page = client_context.new_page()
    client_password = strong_password()
    join_through_page(
        client_page, join_token(data_dir, client_email), "Sam Client", client_password
    )
    expect(client_page.get_by_text(WAITING)).to_be_visible(timeout=SLOW)

    confirm_on_team_page(therapist_page, "Sam Client", own_code(client_page))
    cert = MemberCertificate.objects.get(practice=practice, user__email=client_email)
    assert (cert.role, cert.issuer_kind) == ("client", "member")
    return Team(
        therapist_page, client_page, therapist_email, client_email, contexts, client_password
    )


def test_owner_and_therapist_confirm_new_members(
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    data_dir: Path,
) -> None:
    team = build_team(page, browser, app_server, third_party_guard, data_dir)
    try:
        # An invitation can be cancelled from the page.
        extra = f"later-{secrets.token_hex(4)}@example.org"
        invite_on_page(page, extra, "therapist")
        page.get_by_role("button", name=f"Cancel invitation to {extra}").click()
        expect(page.get_by_role("status").filter(has_text="no longer")).to_contain_text(extra)
        expect(page.get_by_role("button", name=f"Cancel invitation to {extra}")).to_have_count(0)
    finally:
        for ctx in team.contexts:
            ctx.close()


def test_owner_confirms_an_admin_and_hands_over_the_practice_signing_key(
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    data_dir: Path,
) -> None:
    """A new administrator's certificate comes with the PRSK sealed to their own AEK (§6.1),
    re-sealed from the owner's wrap inside the crypto core: the owner's browser never holds the
    PRSK's bytes outside that call."""
    set_up_practice(page)
    admin_email = f"admin-{secrets.token_hex(4)}@example.org"
    invite_on_page(page, admin_email, "admin")
    admin_context = new_context(browser, app_server, third_party_guard)
    try:
        admin_page = admin_context.new_page()
        virtual_authenticator(admin_context, admin_page)  # admins need a passkey too (AU-01)
        admin_password = strong_password()
        join_through_page(
            admin_page, join_token(data_dir, admin_email), "Alex Admin", admin_password
        )
        expect(admin_page.get_by_role("heading", name=TWO_STEP)).to_be_visible()
        enrol_totp_on_page(admin_page)
        add_passkey_on_welcome(admin_page, admin_password)
        save_emergency_kit(admin_page)
        expect(admin_page.get_by_text(WAITING)).to_be_visible(timeout=SLOW)

        confirm_on_team_page(page, "Alex Admin", own_code(admin_page))
        practice = Practice.objects.get()
        cert = MemberCertificate.objects.get(practice=practice, user__email=admin_email)
        assert (cert.role, cert.issuer_kind) == ("admin", "prsk")
        keys = AccountKeys.objects.get(user__email=admin_email)
        wrap = PrskWrap.objects.get(practice=practice, user__email=admin_email)
        assert wrap.aek_id == keys.aek_id  # sealed to the admin's own, current AEK
    finally:
        admin_context.close()


def test_an_owner_without_a_passkey_is_sent_to_the_security_page(page: Page) -> None:
    """AU-01: the server refuses an invitation from an owner without a passkey
    (`passkey_required`), and the team page says where to add one."""
    owner, _ = set_up_practice(page)
    Authenticator.objects.filter(user__email=owner.email, type=Authenticator.Type.WEBAUTHN).delete()
    go(page, "Team")
    form = page.get_by_role("form", name="Invite someone")
    form.get_by_label("Their email address").fill(f"t-{secrets.token_hex(4)}@example.org")
    form.get_by_role("button", name="Send the invitation").click()
    needed = "Add a passkey on your Security page first"
    alert = page.get_by_role("region", name="Invite someone").get_by_role("alert")
    expect(alert).to_contain_text(needed, timeout=SLOW)
    assert not Invitation.objects.exists()
    # The recovery requests are refused for the same reason, and say so.
    recovery = page.get_by_role("region", name="Account recovery requests")
    expect(recovery.get_by_role("alert")).to_contain_text(needed)
    alert.get_by_role("link", name="Security page").click()
    expect(page).to_have_url(re.compile(r"/security$"))
    expect(page.get_by_role("heading", name="Passkeys")).to_be_visible(timeout=SLOW)
