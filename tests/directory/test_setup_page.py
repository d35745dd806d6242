"""The set-up page in Debian's Chromium against the real server: the ceremony runs in the
browser, the server accepts what it uploads, and the security code on the sheet is the one the
transparency page shows (crypto-protocol §6.1, §6.5)."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from quietroom.crypto.encoding import b64url_decode
from quietroom.crypto.verification import groups, practice_code
from quietroom.directory.models import MemberCertificate, PracticeConfigVersion, PrskWrap
from quietroom.keys.models import AccountKeys
from quietroom.practices.models import Membership, Practice
from quietroom.practices.services import issue_setup_link
from tests.conftest import CanaryScanner

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_set_up_page_creates_the_practice(page: Page, canary_scanner: CanaryScanner) -> None:
    token = issue_setup_link()
    assert token is not None
    password = "pw-canary-" + secrets.token_hex(8)
    page.goto(f"/setup#token={token}")
    page.get_by_label("Practice name").fill("Harbour Lane Therapy")
    page.get_by_label("Your name").fill("Robin Ash")
    page.get_by_label("Email address").fill("robin@harbour.example")
    page.locator("input[name=newPassword]").fill(password)
    page.locator("input[name=newPasswordAgain]").fill(password)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Your practice's recovery sheet")).to_be_visible(
        timeout=60_000
    )
    prompt = page.locator("form[aria-label='Check the sheet'] label").inner_text()
    match = re.search(r"Group (\d+) of the Practice (Recovery|Signing) Key", prompt)
    assert match, prompt
    which = "Practice Recovery Key" if match.group(2) == "Recovery" else "Practice Signing Key"
    seed = page.get_by_label(which, exact=True).first.inner_text().split()
    page.locator("input[name=group]").fill(seed[int(match.group(1)) - 1])
    shown_code = page.get_by_label("Practice security code").first.inner_text().split()
    page.get_by_role("button", name=re.compile("create the practice")).click()
    page.wait_for_url(re.compile(r"/(welcome|security)"), timeout=60_000)

    practice = Practice.objects.get()
    config = PracticeConfigVersion.objects.get(practice=practice)
    owner = Membership.objects.get(practice=practice)
    assert owner.role == "owner"
    assert AccountKeys.objects.filter(user=owner.user).exists()
    assert MemberCertificate.objects.filter(user=owner.user, role="owner").exists()
    assert PrskWrap.objects.filter(user=owner.user).exists()
    expected = groups(practice_code(b64url_decode(config.prsk_pub, 32), practice.id))
    assert shown_code == expected
    # The same code is on the public transparency page.
    page.goto("/protection")
    expect(page.get_by_label("Practice security code")).to_have_text(re.compile(expected[0]))
    assert canary_scanner.hits(password) == []
