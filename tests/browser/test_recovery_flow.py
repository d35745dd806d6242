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
