"""Forgot password → emailed link → new password, in Debian's Chromium against the real server
(crypto-protocol §9.2, AU-03, AU-07): the same answer for known and unknown addresses, the
reset key read from the link's fragment and dropped from the address bar, the new password
turned into an authKey in the browser with the account's unchanged salt, and a link that works
only once."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Browser, Page, expect

from quietroom.accounts.models import KdfParams, User
from quietroom.crypto.account import open_bundle, open_pw_wrap
from quietroom.crypto.encoding import b64url_decode
from quietroom.crypto.envelope import decode_bundle_obj
from quietroom.crypto.items import wrap_info
from quietroom.crypto.keys import hpke_open, hpke_seal
from quietroom.crypto.password import KdfParams as Argon2Params
from quietroom.crypto.password import derive_password_keys, parse_secret_key
from quietroom.directory.models import MemberCertificate, MemberRevocationRecord
from quietroom.keys.models import AccountKeys, PasswordWrap
from quietroom.practices.services import issue_setup_link
from tests.browser.test_join_flow import WAITING, join_through_page, new_context
from tests.browser.test_passkeys import virtual_authenticator
from tests.browser.test_setup_flow import (
    SLOW,
    Owner,
    add_passkey_on_welcome,
    enrol_totp_on_page,
    fill_new_password,
    save_emergency_kit,
    set_up_practice,
    strong_password,
    type_back_sheet,
)
from tests.browser.test_sign_in import nav
from tests.browser.test_team_flow import (
    confirm_on_team_page,
    go,
    invite_on_page,
    join_token,
    own_code,
)
from tests.browser.test_unlock_flow import code_in_a_new_step
from tests.conftest import CanaryScanner
from tests.harness.browser import ThirdPartyGuard
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


def set_up_keeping_the_sheet(page: Page) -> tuple[Owner, str]:
    """set_up_practice, also reading the Practice Recovery Key off the sheet (as the owner who
    keeps the printed sheet would have it)."""
    token = issue_setup_link()
    assert token is not None
    password = strong_password()
    email = f"owner-{secrets.token_hex(4)}@example.org"
    virtual_authenticator(page.context, page)  # the owner's passkey (AU-01)
    page.goto(f"/setup#token={token}")
    page.get_by_label("Practice name").fill("Harbour Lane Counselling")
    page.get_by_label("Your name").fill("Robin Owner")
    page.get_by_label("Email address").fill(email)
    fill_new_password(page, password)
    page.get_by_role("button", name="Continue").click()
    prk = page.get_by_label("Practice Recovery Key", exact=True)
    expect(prk).to_be_visible(timeout=SLOW)
    prk_text = prk.text_content() or ""
    type_back_sheet(page)
    expect(page).to_have_url(re.compile(r"/welcome$"), timeout=SLOW)
    totp_secret = enrol_totp_on_page(page)
    add_passkey_on_welcome(page, password)
    secret_key = save_emergency_kit(page)
    expect(page.get_by_text("Your account is ready.")).to_be_visible(timeout=SLOW)
    owner = Owner(email, password, secret_key, totp_secret, "Harbour Lane Counselling", token)
    return owner, prk_text


def test_practice_assisted_recovery(  # noqa: PLR0917 - pytest fixtures
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    data_dir: Path,
    canary_scanner: CanaryScanner,
) -> None:
    """§10.2 end to end: a therapist who lost password, Secret Key and device asks for help on
    a new browser; the owner compares the 30-digit code, runs recovery mode with the sheet's PRK
    in a second browser; the therapist's new device opens the transfer, gets a new AIK around the
    same AEK and a new Secret Key, and the owner certifies the new key ("recovered")."""
    owner, prk_text = set_up_keeping_the_sheet(page)
    therapist_email = f"therapist-{secrets.token_hex(4)}@example.org"
    invite_on_page(page, therapist_email, "therapist")
    first = new_context(browser, app_server, third_party_guard)
    first_page = first.new_page()
    join_through_page(
        first_page, join_token(data_dir, therapist_email), "Dr Rivera", strong_password()
    )
    totp_secret = enrol_totp_on_page(first_page)
    save_emergency_kit(first_page)
    expect(first_page.get_by_text(WAITING)).to_be_visible(timeout=SLOW)
    confirm_on_team_page(page, "Dr Rivera", own_code(first_page))
    first.close()  # the device is lost, with the Secret Key on it
    therapist = User.objects.get(email=therapist_email)
    before = AccountKeys.objects.get(user=therapist)
    # Something sealed to the therapist before the loss: a content key wrapped to their AEK
    # exactly as an item's wrap is (§7.4).
    item_id, root_h, cek = uuid.uuid4(), secrets.token_bytes(32), secrets.token_bytes(32)
    info = wrap_info(item_id, b64url_decode(before.aek_id), root_h)
    sealed_before = hpke_seal(b64url_decode(before.aek_pub), info, cek)

    # A new browser: reset without the Secret Key, sign in, ask the practice for help.
    second = new_context(browser, app_server, third_party_guard)
    try:
        tp = second.new_page()
        sent_before = set(outbox_files(data_dir))
        ask_for_link(tp, therapist_email)
        tp.goto(reset_link_for(data_dir, therapist_email, sent_before))
        new_password = strong_password()
        tp.get_by_label("New password", exact=True).fill(new_password)
        tp.get_by_label("The new password again").fill(new_password)
        tp.get_by_role("button", name="I'm practice staff").click()
        tp.get_by_label("I lost my Secret Key too").check()
        tp.get_by_role("button", name="Set the new password").click()
        expect(tp.get_by_text("You will get a new Secret Key")).to_be_visible(timeout=SLOW)

        tp.goto("/sign-in")
        tp.get_by_label("Email address").fill(therapist_email)
        tp.get_by_label("Password", exact=True).fill(new_password)
        tp.get_by_role("button", name="Sign in", exact=True).click()
        tp.get_by_label("Authenticator code").fill(code_in_a_new_step(totp_secret))
        tp.get_by_role("button", name="Continue").click()
        expect(tp).to_have_url(re.compile(r"/recover$"), timeout=SLOW)
        tp.get_by_role("button", name="Ask my practice for help").click()
        code_list = tp.get_by_role("list", name="Your recovery code")
        expect(code_list.get_by_role("listitem")).to_have_count(6, timeout=SLOW)
        code = (code_list.text_content() or "").replace(" ", "")

        # The owner, in the first browser: compare all 30 digits, then recovery mode.
        go(page, "Verify keys")
        go(page, "Team")
        request = page.get_by_role("list", name="Account recovery requests").get_by_role("listitem")
        shown = request.get_by_role("list", name="Dr Rivera's recovery code")
        expect(shown.get_by_role("listitem")).to_have_count(6, timeout=SLOW)
        assert (shown.text_content() or "").replace(" ", "") == code
        go_on = request.get_by_role("button", name="Continue to recovery mode")
        expect(go_on).to_be_disabled()
        request.get_by_label(re.compile("I compared all 30 digits with Dr Rivera")).check()
        go_on.click()
        expect(request).to_contain_text("networked computer")
        seed_box = request.get_by_label(re.compile("^Practice recovery key"))
        seed_box.fill("AAAA " * 13)
        request.get_by_role("button", name="Recover Dr Rivera's account").click()
        expect(request.get_by_role("alert")).to_contain_text("not", timeout=SLOW)
        seed_box.fill(prk_text)
        request.get_by_role("button", name="Recover Dr Rivera's account").click()
        confirm = page.get_by_role("form", name="Confirm it is you")
        done = page.get_by_role("status").filter(has_text="is recovered")
        expect(confirm.or_(done)).to_be_visible(timeout=SLOW)
        if confirm.is_visible():
            confirm.get_by_label("Your password").fill(owner.password)
            confirm.get_by_label("Your Secret Key").fill(owner.secret_key)
            confirm.get_by_role("button", name="Confirm and recover").click()
        expect(done).to_contain_text("Dr Rivera's account is recovered", timeout=SLOW)
        assert seed_box.count() == 0 or seed_box.input_value() == ""

        # The therapist's page continues by itself.
        expect(tp.get_by_text("Your practice sent your key")).to_be_visible(timeout=SLOW)
        tp.get_by_label("Your new password").fill(new_password)
        tp.get_by_label(re.compile("^Remember this device")).check()
        tp.get_by_role("button", name="Finish recovery").click()
        kit = tp.locator("p.totp-secret code")
        expect(kit).to_be_visible(timeout=SLOW)
        new_sk = (kit.text_content() or "").strip()
        assert re.fullmatch(r"QR1-[A-Z2-7]{6}(-[A-Z2-7]{5}){4}", new_sk), new_sk

        after = AccountKeys.objects.get(user=therapist)
        assert after.keys_locked is False
        assert after.aek_pub == before.aek_pub  # the same AEK: old data stays readable
        assert after.aik_pub != before.aik_pub  # a new identity key
        assert after.ver == before.ver + 1
        # The login moved to the new Secret Key (§10.2 step 5).
        therapist.refresh_from_db()
        row = KdfParams.objects.get(user=therapist)
        keys = derive_password_keys(
            new_password,
            b64url_decode(row.salt),
            Argon2Params(m=row.m, t=row.t, p=row.p),
            parse_secret_key(new_sk),
        )
        assert therapist.check_password(keys.auth_key)
        # What was sealed before the recovery opens with what the account now holds: its
        # current password wrap (new password and Secret Key) gives the UK, the new bundle the
        # AEK, and that AEK opens the old wrap.
        wrap = PasswordWrap.objects.get(user=therapist, state=PasswordWrap.State.ACTIVE)
        uk = open_pw_wrap(
            keys.kek,
            b64url_decode(wrap.ct),
            user_id=therapist.id,
            salt=b64url_decode(row.salt),
            params=Argon2Params(m=wrap.m, t=wrap.t, p=wrap.p),
            ver=wrap.ver,
        )
        recovered = open_bundle(uk, decode_bundle_obj(json.loads(after.bundle)))
        assert hpke_open(recovered.aek, info, sealed_before) == cek

        # The shell knows the keys are open again (no redirect back to recovery)...
        go(tp, "Verify keys")
        # ...and after a reload the remembered device opens the new keys by itself.
        tp.reload()
        nav(tp).get_by_role("link", name="Security").click()
        expect(tp.get_by_role("button", name="Lock now")).to_be_visible(timeout=SLOW)
        confirm_on_team_page(page, "Dr Rivera", own_code(tp))
        cert = MemberCertificate.objects.filter(user=therapist).latest("id")
        assert (cert.reason, cert.aik_pub) == ("recovered", after.aik_pub)
        assert MemberRevocationRecord.objects.filter(user=therapist).count() == 1
        for secret in (new_password, new_sk, prk_text.replace(" ", "")):
            assert canary_scanner.hits(secret) == []
    finally:
        second.close()
