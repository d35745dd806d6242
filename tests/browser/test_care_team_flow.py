"""Care-team changes in Debian's Chromium against the real server (issue #6, crypto-protocol
§7.9): the owner removes the therapist from the client's care team on the Team page (after a
confirmation); the therapist's open conversation closes at once and shows nothing new; their
wraps are gone from the server; the client's next message is sealed without them (only the
client and the practice key); the owner can add the therapist back, and the client's browser
then grants them the earlier messages, which they read."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from quietroom.accounts.models import User
from quietroom.messaging.models import ConversationItem, ItemGrant, ItemWrap, NotificationPrefs
from quietroom.practices.models import CareTeamMember, Practice
from tests.browser.conversation_pages import (
    canary,
    messages,
    open_conversation_as_client,
    open_conversation_as_therapist,
    send,
)
from tests.browser.test_setup_flow import SLOW
from tests.browser.test_team_flow import build_team, go
from tests.harness.browser import ThirdPartyGuard
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)


def care_team_of(page: Page, client_name: str) -> Locator:
    return (
        page.get_by_role("list", name="Care teams")
        .get_by_role("listitem")
        .filter(has=page.get_by_role("heading", name=client_name))
    )


def test_owner_removes_a_therapist_from_the_care_team(
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    data_dir: Path,
) -> None:
    team = build_team(page, browser, app_server, third_party_guard, data_dir)
    try:
        therapist, client = team.therapist_page, team.client_page
        therapist_user = User.objects.get(email=team.therapist_email)
        client_user = User.objects.get(email=team.client_email)
        practice = Practice.objects.get()

        # The owner writes the practice's crisis resources; the client chooses a neutral sender
        # name for notification emails (therapists are not offered the client-only choices).
        go(page, "Team")
        crisis = page.get_by_role("form", name="Crisis resources")
        crisis.get_by_label("Crisis resources text").fill("Call 988, or 911 in an emergency.")
        crisis.get_by_role("button", name="Save crisis resources").click()
        expect(
            page.get_by_role("status").filter(has_text="crisis resources are saved")
        ).to_be_visible(timeout=SLOW)
        go(client, "Security")
        neutral = client.get_by_role("checkbox", name="Use a neutral sender name")
        expect(neutral).not_to_be_checked(timeout=SLOW)
        neutral.check()
        expect(client.get_by_role("status").filter(has_text="Saved.")).to_be_visible(timeout=SLOW)
        prefs = NotificationPrefs.objects.get(user=client_user)
        assert (prefs.email_on_message, prefs.name_sender, prefs.neutral_sender) == (
            True,
            False,
            True,
        )
        go(therapist, "Security")
        expect(
            therapist.get_by_role("checkbox", name="Email me when I have a new message")
        ).to_be_checked(timeout=SLOW)
        expect(therapist.get_by_role("checkbox", name="Use a neutral sender name")).to_have_count(0)

        go(therapist, "Messages")
        therapist.get_by_role("list", name="Conversations").get_by_role(
            "link", name="Sam Client"
        ).click()
        expect(therapist.get_by_role("heading", level=1)).to_have_text("Conversation")
        before = canary()
        send(therapist, before)
        assert ItemWrap.objects.filter(kind="user", principal_id=therapist_user.pk).exists()

        # The owner sees the client's care team on the Team page and removes the therapist,
        # after a confirmation.
        go(page, "Security")  # the Team page is open since build_team: load it afresh
        go(page, "Team")
        row = care_team_of(page, "Sam Client")
        expect(row.get_by_role("list", name="Sam Client's care team")).to_contain_text(
            "Dr Rivera", timeout=SLOW
        )
        row.get_by_role("button", name="Remove Dr Rivera").click()
        dialog = row.get_by_role("alertdialog")
        expect(dialog).to_contain_text("Remove Dr Rivera from Sam Client's care team?")
        dialog.get_by_role("button", name="Keep Dr Rivera").click()
        expect(dialog).to_have_count(0)
        assert CareTeamMember.objects.filter(removed_at__isnull=True).count() == 1
        row.get_by_role("button", name="Remove Dr Rivera").click()
        row.get_by_role("alertdialog").get_by_role("button", name="Yes, remove Dr Rivera").click()
        expect(page.get_by_role("status").filter(has_text="no longer")).to_contain_text(
            "Dr Rivera is no longer on Sam Client's care team.", timeout=SLOW
        )
        expect(care_team_of(page, "Sam Client")).to_contain_text("Nobody is on")
        assert CareTeamMember.objects.filter(removed_at__isnull=True).count() == 0

        # The therapist's open conversation closes at once; their wraps are gone.
        expect(therapist.get_by_text("You are no longer part of this conversation.")).to_be_visible(
            timeout=SLOW
        )
        expect(therapist.get_by_text(before)).to_have_count(0)
        assert not ItemWrap.objects.filter(kind="user", principal_id=therapist_user.pk).exists()
        assert not ItemGrant.objects.filter(grantee=therapist_user).exists()

        # The client's next message is sealed to the client and the practice key only, and
        # nothing new reaches the therapist's page.
        open_conversation_as_client(client)
        expect(client.get_by_role("complementary", name="Not for emergencies")).to_contain_text(
            "Call 988, or 911 in an emergency.", timeout=SLOW
        )
        after = canary()
        send(client, after)
        newest = ConversationItem.objects.latest("seq")
        assert newest.author_id == client_user.pk
        assert {(w.kind, w.principal_id) for w in newest.wraps.all()} == {
            ("user", client_user.pk),
            ("prk", practice.pk),
        }
        assert re.search(str(therapist_user.pk), newest.header) is None
        expect(therapist.get_by_text(after)).to_have_count(0)
        expect(
            therapist.get_by_text("You are no longer part of this conversation.")
        ).to_be_visible()

        # The owner adds the therapist back from the same page.
        row = care_team_of(page, "Sam Client")
        row.get_by_label("Therapist to add").select_option(label="Dr Rivera")
        row.get_by_role("button", name="Add therapist").click()
        expect(page.get_by_role("status").filter(has_text="is now on")).to_contain_text(
            "Dr Rivera is now on Sam Client's care team.", timeout=SLOW
        )
        assert CareTeamMember.objects.filter(removed_at__isnull=True).count() == 1

        # Back on the team, the therapist reads the earlier messages once a participant's
        # browser grants them (§7.9): here the client's, when it next opens the conversation.
        go(client, "Security")
        open_conversation_as_client(client)
        expect(messages(client).get_by_text(after)).to_be_visible(timeout=SLOW)
        granted = ItemGrant.objects.filter(grantee=therapist_user)
        deadline = time.monotonic() + 30
        while granted.count() < 2 and time.monotonic() < deadline:
            # Not time.sleep: the page's requests pass through this process's route handler
            # (the third-party guard), which runs only while a Playwright call is waiting.
            client.wait_for_timeout(200)
        assert set(granted.values_list("item__seq", flat=True)) == set(
            ConversationItem.objects.values_list("seq", flat=True)
        )
        open_conversation_as_therapist(therapist, "Sam Client")
        for text in (before, after):
            expect(messages(therapist).get_by_text(text)).to_be_visible(timeout=SLOW)
    finally:
        for context in team.contexts:
            context.close()
