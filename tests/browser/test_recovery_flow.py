"""Forgot password → emailed link → new password, in Debian's Chromium against the real server
(crypto-protocol §9.2, AU-03, AU-07): the same answer for known and unknown addresses, the
reset key read from the link's fragment and dropped from the address bar, the new password
turned into an authKey in the browser with the account's unchanged salt, and a link that works
only once."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Page, expect

from quietroom.accounts.models import KdfParams, User
from quietroom.crypto.encoding import b64url_decode
from quietroom.crypto.password import KdfParams as Argon2Params
from quietroom.crypto.password import derive_password_keys
from quietroom.keys.models import AccountKeys, PasswordWrap
from tests.browser.test_setup_flow import SLOW, set_up_practice, strong_password
from tests.browser.test_sign_in import nav
from tests.browser.test_unlock_flow import code_in_a_new_step
from tests.conftest import CanaryScanner
from tests.harness.personas import Personas
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)

SENT = "If this address belongs to an account here, we have sent it a link"
LINK = re.compile(r"/reset-password#key=([A-Za-z0-9_:.-]+)")


def auth_key_for(user: User, password: str, secret_key: bytes | None = None) -> str:
    row = KdfParams.objects.get(user=user)
    params = Argon2Params(m=row.m, t=row.t, p=row.p)
    return derive_password_keys(password, b64url_decode(row.salt), params, secret_key).auth_key


def verified_email(user: User) -> None:
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )


def outbox_files(data_dir: Path) -> list[Path]:
    box = data_dir / "outbox"
    return sorted(box.glob("*"), key=lambda p: p.stat().st_mtime) if box.exists() else []


def reset_link_for(data_dir: Path, email: str, before: set[Path]) -> str:
    for path in reversed(outbox_files(data_dir)):
        if path in before:
            continue
        text = path.read_text(errors="replace")
        if email in text and (m := LINK.search(text.replace("=\n", ""))):
            return m.group(0)
    raise AssertionError(f"no reset email for {email}")


def ask_for_link(page: Page, email: str) -> None:
    page.goto("/forgot-password")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text(SENT)


def test_forgot_and_reset_password(
    page: Page, personas: Personas, app_server: AppServer, data_dir: Path
) -> None:
    user = personas.client.user
    verified_email(user)
    before = set(outbox_files(data_dir))

    # An unknown address gets exactly the same page, and no email.
    ask_for_link(page, f"nobody-{secrets.token_hex(4)}@example.org")
    assert set(outbox_files(data_dir)) == before

    ask_for_link(page, user.email)
    link = reset_link_for(data_dir, user.email, before)

    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    expect(page.get_by_text(f"For {user.email}.")).to_be_visible()
    assert "key=" not in page.url  # the key left the address bar (and history)

    page.get_by_label("New password", exact=True).fill("password1234")
    page.get_by_label("The new password again").fill("password1234")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("too easy to guess")

    password = "lantern orbit " + secrets.token_hex(6)
    page.get_by_label("New password", exact=True).fill(password)
    expect(page.get_by_text("Strong enough.")).to_be_visible()
    page.get_by_label("The new password again").fill(password + "x")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("not the same")

    page.get_by_label("The new password again").fill(password)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Your new password is set")).to_be_visible()
    expect(page.get_by_text("Remember this device")).to_be_visible()

    user.refresh_from_db()
    assert user.check_password(auth_key_for(user, password))

    # The link works once.
    page.goto("/")
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("cannot be used any more")


def test_remembered_device_opens_the_keys_after_a_reset(
    page: Page, app_server: AppServer, data_dir: Path, canary_scanner: CanaryScanner
) -> None:
    """§10.1: forgot password → reset → on the remembered device the same UK is wrapped under
    the new password. The account keys do not change: the AIK, the AEK (which everything sealed
    to this person is wrapped to) and the bundle holding them are the same, and the browser
    opens that bundle again, so whatever was sealed before the reset stays readable."""
    owner, _ = set_up_practice(page, remember=True)
    user = User.objects.get(email=owner.email)
    before = AccountKeys.objects.get(user=user)
    nav(page).get_by_role("button", name="Sign out").click()
    expect(nav(page).get_by_role("link", name="Sign in")).to_be_visible()

    sent_before = set(outbox_files(data_dir))
    ask_for_link(page, owner.email)
    page.goto(reset_link_for(data_dir, owner.email, sent_before))
    expect(page.get_by_text("This device keeps your Secret Key")).to_be_visible(timeout=SLOW)
    new_password = strong_password()
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_label("The new password again").fill(new_password)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Your new password is set")).to_be_visible(timeout=SLOW)
    assert AccountKeys.objects.get(user=user).keys_locked is True

    # Signing in finds the keys locked and leads to the recovery page.
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(owner.email)
    page.get_by_label("Password", exact=True).fill(new_password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label("Authenticator code").fill(code_in_a_new_step(owner.totp_secret))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/recover$"), timeout=SLOW)
    expect(page.get_by_text("This device is remembered for your account")).to_be_visible(
        timeout=SLOW
    )
    page.get_by_label("Your new password").fill(new_password)
    page.get_by_role("button", name="Open my keys").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Your account is recovered and your keys are open", timeout=SLOW
    )

    after = AccountKeys.objects.get(user=user)
    assert after.keys_locked is False
    assert (after.aik_pub, after.aek_pub, after.bundle) == (
        before.aik_pub,
        before.aek_pub,
        before.bundle,
    )
    wraps = list(PasswordWrap.objects.filter(user=user).values_list("ver", "state"))
    assert wraps == [(2, PasswordWrap.State.ACTIVE)]
    nav(page).get_by_role("link", name="Security").click()
    expect(page.get_by_role("button", name="Lock now")).to_be_visible(timeout=SLOW)
    assert canary_scanner.hits(new_password) == []
