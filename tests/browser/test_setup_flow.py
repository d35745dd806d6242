"""Practice set-up in Debian's Chromium against the real server, from a fresh database: the
one-time link, the owner's form with the strength check, the key ceremony and recovery sheet
with its type-back, the owner's keys and certificate, sign-in, mandatory two-step enrolment, the
mandatory passkey (AU-01, with Chromium's virtual authenticator) and the Emergency Kit
(crypto-protocol §3, §4, §5, §6.1). The password and the Secret Key reach no
request and nothing the server keeps; the link dies once used.

The helpers here (`set_up_practice`, `enrol_totp_on_page`, `add_passkey_on_welcome`, ...) are
shared by the join and unlock tests."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import Page, expect

from quietroom.crypto.encoding import b64url_decode
from quietroom.crypto.verification import practice_code
from quietroom.directory.models import PracticeConfigVersion
from quietroom.keys.models import AccountKeys
from quietroom.practices.models import Membership, Practice
from quietroom.practices.services import issue_setup_link
from tests.browser.test_passkeys import virtual_authenticator
from tests.browser.test_sign_in import Sent, fresh_code, nav, record_requests, storage_text
from tests.conftest import CanaryScanner

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = 60_000  # Argon2id (64 MiB) in the browser, plus the ceremony


def strong_password() -> str:
    """Strong enough for zxcvbn (score ≥ 3) and a canary of its own."""
    return f"canary {secrets.token_hex(6)} lantern orchard"


@dataclass
class Owner:
    email: str
    password: str
    secret_key: str  # as printed on the Emergency Kit
    totp_secret: str
    practice_name: str
    setup_token: str


def fill_new_password(page: Page, password: str) -> None:
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again", exact=True).fill(password)


def enrol_totp_on_page(page: Page) -> str:
    """Turns on two-step verification from the QR step; returns the TOTP secret."""
    secret_code = page.locator("code.totp-secret")
    expect(secret_code).to_be_visible(timeout=SLOW)
    secret = (secret_code.text_content() or "").replace(" ", "")
    page.get_by_label("Code from the app").fill(fresh_code(secret))
    page.get_by_role("button", name="Turn on two-step verification").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    page.get_by_role("button", name="I have saved them").click()
    return secret


def add_passkey_on_welcome(page: Page, password: str) -> None:
    """The Welcome page's passkey step for owners and admins (AU-01), answered by a Chromium
    virtual authenticator on the page (`virtual_authenticator`); the Emergency Kit follows."""
    step = page.get_by_role("region", name="Add a passkey")
    expect(step).to_be_visible(timeout=SLOW)
    expect(step).to_contain_text("protects the practice's keys against phishing")
    # The kit waits until a passkey is there: there is no way past this step without one.
    expect(page.get_by_label("Secret Key", exact=True)).to_have_count(0)
    step.get_by_role("button", name="Add a passkey").click()
    step.get_by_label("Name").fill("Office laptop")
    step.get_by_role("button", name="Create passkey").click()
    # allauth asks for the password again only if the sign-in is no longer recent.
    confirm = step.get_by_role("form", name="Confirm it's you")
    kit = page.get_by_label("Secret Key", exact=True)
    expect(confirm.or_(kit)).to_be_visible(timeout=SLOW)
    if confirm.is_visible():
        confirm.get_by_label("Password").fill(password)
        confirm.get_by_role("button", name="Continue").click()
    expect(kit).to_be_visible(timeout=SLOW)


def save_emergency_kit(page: Page) -> str:
    """Reads the Secret Key from the Emergency Kit and confirms it was saved."""
    kit = page.get_by_label("Secret Key", exact=True)
    expect(kit).to_be_visible(timeout=SLOW)
    text = (kit.text_content() or "").strip()
    assert re.fullmatch(r"QR1-[A-Z2-7]{6}(-[A-Z2-7]{5}){4}", text), text
    expect(page.get_by_role("img", name="QR code of your Secret Key")).to_be_visible()
    continue_button = page.get_by_role("button", name="Continue")
    expect(continue_button).to_be_disabled()
    page.get_by_label("I have saved my Emergency Kit somewhere safe").check()
    continue_button.click()
    return text


def type_back_sheet(page: Page) -> str:
    """Types back the group the page asks for; returns the security code shown on the sheet."""
    prompt = page.get_by_label(re.compile(r"^Group \d+ of the Practice (Recovery|Signing) Key$"))
    expect(prompt).to_be_visible(timeout=SLOW)
    label = page.locator("form[aria-label='Check the sheet'] label").text_content() or ""
    match = re.match(r"Group (\d+) of the Practice (Recovery|Signing) Key", label)
    assert match, label
    which = "Practice Recovery Key" if match.group(2) == "Recovery" else "Practice Signing Key"
    groups = (page.get_by_label(which, exact=True).text_content() or "").split()
    assert len(groups) == 13, groups
    assert all(re.fullmatch(r"[A-Z2-7]{4}", g) for g in groups), groups
    code = (page.get_by_label("Practice security code").text_content() or "").split()
    assert len(code) == 6, code
    assert all(re.fullmatch(r"\d{5}", g) for g in code), code
    expect(page.get_by_role("img", name="QR code of the recovery sheet")).to_be_visible()

    prompt.fill("ZZZZ" if groups[int(match.group(1)) - 1] != "ZZZZ" else "AAAA")
    page.get_by_role("button", name=re.compile("create the practice")).click()
    expect(page.get_by_role("alert")).to_contain_text("does not match the sheet")
    prompt.fill(groups[int(match.group(1)) - 1].lower())
    page.get_by_role("button", name=re.compile("create the practice")).click()
    return "".join(code)


def set_up_practice(page: Page, *, remember: bool = False) -> tuple[Owner, str]:
    """The whole set-up through the UI; returns the owner and the security code shown."""
    token = issue_setup_link()
    assert token is not None
    password = strong_password()
    owner_email = f"owner-{secrets.token_hex(4)}@example.org"
    practice_name = "Harbour Lane Counselling"

    virtual_authenticator(page.context, page)  # the owner's passkey (AU-01)
    page.goto(f"/setup#token={token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your practice")
    page.get_by_label("Practice name").fill(practice_name)
    page.get_by_label("Your name").fill("Robin Owner")
    page.get_by_label("Email address").fill(owner_email)
    # A weak password is refused before anything is derived or sent.
    fill_new_password(page, "password1")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("too easy to guess", timeout=SLOW)
    fill_new_password(page, password)
    if remember:
        page.get_by_label(re.compile("^Remember this device")).check()
    page.get_by_role("button", name="Continue").click()

    code = type_back_sheet(page)

    expect(page).to_have_url(re.compile(r"/welcome$"), timeout=SLOW)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome to {practice_name}")
    expect(page.get_by_role("heading", name="Turn on two-step verification")).to_be_visible()
    totp_secret = enrol_totp_on_page(page)
    add_passkey_on_welcome(page, password)
    assert Authenticator.objects.filter(
        user__email=owner_email, type=Authenticator.Type.WEBAUTHN
    ).exists()
    secret_key = save_emergency_kit(page)
    expect(page.get_by_text("Your account is ready.")).to_be_visible(timeout=SLOW)
    return Owner(owner_email, password, secret_key, totp_secret, practice_name, token), code


def check_nothing_secret_sent(sent: list[Sent], *secrets_: str) -> None:
    for request in sent:
        for secret in secrets_:
            assert secret not in request.url, request.url
            assert secret not in request.body, request.url


def test_owner_sets_up_the_practice_and_the_link_dies(
    page: Page, canary_scanner: CanaryScanner
) -> None:
    sent = record_requests(page)
    owner, shown_code = set_up_practice(page)

    # The server holds the practice, the owner's keys and the config the browser signed.
    practice = Practice.objects.get()
    assert practice.name == owner.practice_name
    membership = Membership.objects.get(practice=practice)
    assert (membership.role, membership.user.email) == ("owner", owner.email)
    keys = AccountKeys.objects.get(user=membership.user)
    config = PracticeConfigVersion.objects.get(practice=practice)
    prsk_pub = b64url_decode(config.prsk_pub)
    assert shown_code == practice_code(prsk_pub, practice.id)
    assert keys.keys_locked is False

    session = page.request.get("/api/session").json()
    assert session["keys"] == "ready"
    assert session["mfa_enabled"] is True
    assert session["certified"] is True
    expect(nav(page).get_by_role("button", name="Sign out")).to_be_visible()

    # The link is used up: the server refuses it, and the page says so.
    token_check = page.request.post("/api/setup/check", data={"token": owner.setup_token})
    assert token_check.status == 404
    page.goto(f"/setup#token={owner.setup_token}")
    expect(page.get_by_role("alert")).to_contain_text("cannot be used", timeout=SLOW)

    # No password and no Secret Key in any request, in browser storage or on the server.
    compact_key = owner.secret_key.replace("-", "")[3:]
    check_nothing_secret_sent(sent, owner.password, owner.secret_key, compact_key)
    assert owner.password not in storage_text(page)
    assert canary_scanner.hits(owner.password) == []
    assert canary_scanner.hits(owner.secret_key) == []
    assert canary_scanner.hits(compact_key) == []
    assert canary_scanner.hits(owner.email)  # the scan does see the database


def test_only_the_newest_link_works(page: Page) -> None:
    token = issue_setup_link()
    assert token is not None
    page.goto(f"/setup#token={token}")
    expect(page.get_by_label("Practice name")).to_be_visible(timeout=SLOW)
    assert issue_setup_link() is not None  # printing a new link revokes this one
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("cannot be used", timeout=SLOW)
    page.goto("/setup")
    expect(page.get_by_role("alert")).to_contain_text("quietroom setup-link")
