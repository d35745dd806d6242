"""Key verification in Debian's Chromium against the real server (crypto-protocol §6.4, §6.5):
a therapist and a client, in two browsers, see the same 60-digit safety number, mark each other
verified, and when the therapist's identity key changes (an account recovery, certified by the
owner on the team page) the client's page raises a blocking warning naming the reason and the
date; acknowledging it re-pins the new key as not verified. The conversation shows each state
(verified, waiting for confirmation, key changed, not yet verified), says who cannot read new
messages yet, and pauses writing while a key change is unchecked."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from quietroom.crypto import devices, envelope
from quietroom.crypto.encoding import b64url_decode, b64url_encode, sha256
from quietroom.crypto.verification import fp30
from quietroom.directory.models import (
    MemberCertificate,
    MemberRevocationRecord,
    PracticeConfigVersion,
)
from quietroom.keys.models import AccountKeys, DeviceListVersion
from quietroom.practices.models import Membership
from tests.browser.conversation_pages import canary, open_conversation_as_client, send
from tests.browser.test_setup_flow import SLOW
from tests.browser.test_team_flow import build_team, confirm_on_team_page, go
from tests.directory.world import World, give_keys, now_ms
from tests.harness.browser import ThirdPartyGuard
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)


def person(page: Page, name: str):  # type: ignore[no-untyped-def]
    return (
        page.get_by_role("list", name="People you work with")
        .get_by_role("listitem")
        .filter(has_text=name)
    )


def key_state(page: Page) -> Locator:
    """The conversation's list of the other participants with their key state."""
    return page.get_by_role("list", name="Key verification")


def safety_number(page: Page, name: str) -> str:
    go(page, "Verify keys")
    row = person(page, name)
    expect(row).to_contain_text("Not yet verified", timeout=SLOW)
    row.get_by_role("button", name=f"Compare safety number with {name}").click()
    number = row.get_by_role("list", name=re.compile("^Safety number with"))
    expect(number.get_by_role("listitem")).to_have_count(12, timeout=SLOW)
    expect(row.get_by_role("img", name=re.compile("as a QR code"))).to_be_visible()
    return (number.text_content() or "").replace(" ", "")


def mark_verified(page: Page, name: str) -> None:
    row = person(page, name)
    button = row.get_by_role("button", name="Mark as verified")
    expect(button).to_be_disabled()  # only after "compared all 12 groups"
    row.get_by_label(re.compile("compared all 12 groups")).check()
    button.click()
    expect(row).to_contain_text("Verified", timeout=SLOW)


def replace_identity_key(user_email: str) -> None:
    """What a completed §10.2 recovery leaves on the server: a new AIK, and a device list under
    it that continues the old one (earlier devices kept, revoked), with no certificate yet."""
    membership = Membership.objects.get(user__email=user_email)
    config = PracticeConfigVersion.objects.filter(practice=membership.practice).latest("seq")
    previous = envelope.decode_device_list(
        DeviceListVersion.objects.filter(user=membership.user).latest("seq").envelope.encode()
    )
    world = SimpleNamespace(
        practice=membership.practice,
        keys=SimpleNamespace(
            prk_pub=b64url_decode(config.prk_pub, 32), prk_id=b64url_decode(config.prk_id, 16)
        ),
    )
    member = give_keys(cast(World, world), membership, ver=2)
    # give_keys starts the list afresh; a real recovery keeps every earlier entry.
    at = now_ms()
    new_list = devices.sign_device_list(
        member.keys.aik,
        user_id=membership.user.id,
        seq=member.device_list.seq,
        prev_hash=member.device_list.prev_hash,
        created_at=at,
        entries=[
            *(e if e.revoked else replace(e, revoked_at=at) for e in previous.entries),
            *member.device_list.entries,
        ],
    )
    DeviceListVersion.objects.filter(user=membership.user, seq=new_list.seq).update(
        msg_hash=b64url_encode(sha256(new_list.message())),
        envelope=envelope.dumps(envelope.encode_device_list(new_list)).decode(),
    )


def test_safety_numbers_and_a_changed_key(
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    data_dir: Path,
) -> None:
    team = build_team(page, browser, app_server, third_party_guard, data_dir)
    try:
        therapist, client = team.therapist_page, team.client_page

        # The same 60 digits on both sides, and each marks the other verified.
        seen_by_client = safety_number(client, "Dr Rivera")
        seen_by_therapist = safety_number(therapist, "Sam Client")
        assert re.fullmatch(r"\d{60}", seen_by_client)
        assert seen_by_client == seen_by_therapist
        mark_verified(client, "Dr Rivera")
        mark_verified(therapist, "Sam Client")
        # The conversation shows the state too.
        open_conversation_as_client(client)
        expect(key_state(client)).to_contain_text("Dr Rivera Verified", timeout=SLOW)

        # The therapist's identity key changes; the owner certifies the new one ("recovered").
        replace_identity_key(team.therapist_email)
        new_code = own_code_of_new_key(team.therapist_email)
        # Until the owner confirms the new key, the client's conversation says that the
        # therapist cannot read new messages yet.
        go(client, "Security")
        open_conversation_as_client(client)
        expect(key_state(client)).to_contain_text(
            "Dr Rivera Waiting for the practice to confirm their keys", timeout=SLOW
        )
        expect(client.get_by_text("Dr Rivera cannot read new messages yet")).to_be_visible()
        confirm_on_team_page(page, "Dr Rivera", new_code)
        cert = MemberCertificate.objects.filter(user__email=team.therapist_email).latest("id")
        assert cert.reason == "recovered"
        assert MemberRevocationRecord.objects.filter(user__email=team.therapist_email).count() == 1

        # The client's conversation shows the change and pauses writing until it is checked.
        go(client, "Security")
        open_conversation_as_client(client)
        expect(key_state(client)).to_contain_text("Dr Rivera Key changed", timeout=SLOW)
        expect(client.get_by_role("alert")).to_contain_text(
            "Dr Rivera's security code changed."
            " Writing is paused until you check it on Verify keys."
        )
        expect(client.get_by_role("button", name="Send", exact=True)).to_be_disabled()

        # The Verify keys page blocks on the change before anything else.
        go(client, "Verify keys")
        dialog = client.get_by_role("alertdialog")
        expect(dialog).to_be_visible(timeout=SLOW)
        expect(dialog).to_contain_text(
            re.compile(r"Dr Rivera's security code changed: account recovered by the practice on ")
        )
        expect(client.get_by_role("list", name="People you work with")).to_have_count(0)
        dialog.get_by_role("button", name="I understand").click()
        expect(person(client, "Dr Rivera")).to_contain_text("Not yet verified", timeout=SLOW)
        assert safety_number(client, "Dr Rivera") != seen_by_client
        open_conversation_as_client(client)
        expect(key_state(client)).to_contain_text("Dr Rivera Not yet verified", timeout=SLOW)
        expect(client.get_by_role("button", name="Send", exact=True)).to_be_enabled()
        send(client, canary())
    finally:
        for ctx in team.contexts:
            ctx.close()


def own_code_of_new_key(email: str) -> str:
    """The new AIK's 30-digit code, as the person would read it from their own page."""
    keys = AccountKeys.objects.get(user__email=email)
    return fp30(0, b64url_decode(keys.aik_pub, 32), keys.user_id.bytes)
