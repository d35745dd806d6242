"""Secure messaging in Debian's Chromium against the real server (issue #6, crypto-protocol §7):
a therapist and a client exchange messages both ways, each sealed in one browser and opened
live in the other; nothing they typed reaches the database, blobs or logs; a client that was
offline catches up with every message once, in order; the therapist's inbox counts unread
messages live; quick exit lands on /exit with nothing of the conversation behind it; and a
client signed in on two browsers gets every message on both."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from quietroom.keys.models import DeviceListVersion
from tests.browser import test_team_flow
from tests.browser.conversation_pages import (
    canary,
    messages,
    open_conversation_as_client,
    open_conversation_as_therapist,
    overlaps,
    send,
)
from tests.browser.test_join_flow import new_context
from tests.browser.test_setup_flow import SLOW
from tests.browser.test_sign_in import expect_signed_in, sign_in_through_page
from tests.browser.test_team_flow import build_team, go
from tests.conftest import CanaryScanner
from tests.harness.browser import ThirdPartyGuard
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)


class SocketSwitch:
    """Every `/ws/events` socket of one browser context passes through here (to the real
    server), so the test can cut the connection and refuse new ones, as a network outage would
    (`set_offline` does not reach WebSockets, and the browser here thinks it is always offline)."""

    def __init__(self) -> None:
        self.down = False
        self.open: list[WebSocketRoute] = []

    def handle(self, ws: WebSocketRoute) -> None:
        if self.down:
            ws.close(code=4000, reason="test outage")
            return
        ws.connect_to_server()
        self.open.append(ws)

    def cut(self) -> None:
        self.down = True
        for ws in self.open:
            ws.close(code=4000, reason="test outage")
        self.open.clear()

    def restore(self) -> None:
        self.down = False


def route_sockets(monkeypatch: pytest.MonkeyPatch) -> list[SocketSwitch]:
    """Routes the sockets of every context `build_team` makes; one switch per context, in order."""
    switches: list[SocketSwitch] = []

    def routed(browser: Browser, app_server: AppServer, guard: ThirdPartyGuard) -> BrowserContext:
        context = new_context(browser, app_server, guard)
        switch = SocketSwitch()
        context.route_web_socket("**/ws/events", switch.handle)
        switches.append(switch)
        return context

    monkeypatch.setattr(test_team_flow, "new_context", routed)
    return switches


def texts_in_order(page: Page) -> str:
    return messages(page).inner_text()


def test_messages_both_ways_live_catch_up_unread_and_quick_exit(  # noqa: PLR0917 - pytest fixtures
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    data_dir: Path,
    canary_scanner: CanaryScanner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    switches = route_sockets(monkeypatch)
    team = build_team(page, browser, app_server, third_party_guard, data_dir)
    try:
        therapist, client = team.therapist_page, team.client_page
        client_socket = switches[1]
        typed: list[str] = []

        open_conversation_as_therapist(therapist, "Sam Client")
        open_conversation_as_client(client)
        for p in (therapist, client):
            expect(p.get_by_role("heading", name="Not for emergencies")).to_be_visible()
            expect(p.get_by_role("list", name="Key verification")).to_contain_text(
                "Not yet verified", timeout=SLOW
            )

        # Sends go over the open socket (`send` frames), not as POSTs.
        item_posts: list[str] = []
        for p in (therapist, client):
            p.on(
                "request",
                lambda r: (
                    item_posts.append(r.url)
                    if r.method == "POST" and r.url.endswith("/items")
                    else None
                ),
            )

        # Therapist → client, then client → therapist: each appears live on the other side.
        first = canary()
        typed.append(first)
        send(therapist, first)
        expect(messages(client)).to_contain_text(first, timeout=SLOW)
        expect(messages(client).get_by_role("listitem").filter(has_text=first)).to_contain_text(
            "Dr Rivera"
        )

        reply = canary()
        typed.append(reply)
        send(client, reply)
        expect(messages(therapist)).to_contain_text(reply, timeout=SLOW)
        expect(messages(therapist).get_by_role("listitem").filter(has_text=reply)).to_contain_text(
            "Sam Client"
        )

        assert item_posts == []

        # Shift+Enter is a new line, not a send.
        box = client.get_by_role("textbox", name="Message", exact=True)
        box.fill("line one")
        box.press("Shift+Enter")
        expect(box).to_have_value("line one\n")
        box.fill("")

        # The client's connection drops; three messages are sent; when it reconnects, the
        # catch-up brings each once, in the order sent.
        client_socket.cut()
        missed = [canary() for _ in range(3)]
        typed.extend(missed)
        for text in missed:
            send(therapist, text)
        for text in missed:
            expect(messages(client)).not_to_contain_text(text)
        # Without its socket, the client's message is posted over HTTP instead, and arrives.
        posted = canary()
        typed.append(posted)
        send(client, posted)
        expect(messages(therapist)).to_contain_text(posted, timeout=SLOW)
        assert len(item_posts) == 1
        client_socket.restore()
        for text in missed:
            expect(messages(client).get_by_role("listitem").filter(has_text=text)).to_have_count(
                1, timeout=SLOW
            )
        shown = texts_in_order(client)
        positions = [shown.index(text) for text in [first, reply, *missed]]
        assert positions == sorted(positions)
        for text in [first, reply, *missed]:
            assert shown.count(text) == 1

        # A 375 px phone shows the conversation without sideways scrolling.
        # Quick exit stays on screen at the top and at the end of the page, and at the end it
        # leaves the Send button uncovered.
        client.set_viewport_size({"width": 375, "height": 740})
        quick_exit = client.get_by_role("button", name="Quick exit")
        for scroll in ("0", "document.documentElement.scrollHeight"):
            client.evaluate(f"window.scrollTo(0, {scroll})")
            expect(quick_exit).to_be_in_viewport()
        assert not overlaps(quick_exit, client.get_by_role("button", name="Send", exact=True))
        assert client.evaluate("document.documentElement.scrollWidth") <= 375
        client.set_viewport_size({"width": 1280, "height": 720})

        # The therapist's inbox counts what the client writes, live.
        go(therapist, "Messages")
        row = (
            therapist.get_by_role("list", name="Conversations")
            .get_by_role("listitem")
            .filter(has_text="Sam Client")
        )
        expect(row).to_contain_text("No unread", timeout=SLOW)
        unread = canary()
        typed.append(unread)
        send(client, unread)
        expect(row).to_contain_text("1 unread", timeout=SLOW)
        # Privacy mode hides the name behind initials.
        therapist.get_by_label(re.compile("Privacy mode")).check()
        inbox = therapist.get_by_role("list", name="Conversations")
        expect(inbox).not_to_contain_text("Sam Client")
        expect(inbox.get_by_role("link", name="S. C.")).to_be_visible()
        therapist.get_by_label(re.compile("Privacy mode")).uncheck()

        # Nothing typed reached the server's storage or logs.
        for text in typed:
            assert canary_scanner.hits(text) == [], text

        # Escape twice also exits (here: once is not enough).
        client.keyboard.press("Escape")
        client.wait_for_timeout(1200)
        client.keyboard.press("Escape")
        expect(messages(client)).to_contain_text(reply)

        # Quick exit: one tap lands on the neutral page; Back shows nothing of the conversation.
        client.get_by_role("button", name="Quick exit").click()
        expect(client).to_have_url(re.compile(r"/exit$"), timeout=SLOW)
        assert "Sam Client" not in client.content()
        client.go_back()
        client.wait_for_load_state()
        for text in typed:
            expect(client.get_by_text(text)).to_have_count(0)
        expect(client.get_by_role("list", name="Messages")).to_have_count(0)
    finally:
        for context in team.contexts:
            context.close()


def test_a_client_on_two_devices_gets_every_message_on_both(
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    data_dir: Path,
) -> None:
    """Every online device of every recipient gets an item live: the client signs in on a
    second browser (a new device, the second version of their signed device list), and both
    browsers show what the therapist sends, and what the other one sends. The therapist's
    browser, which pinned the client's newest device list, keeps accepting it on every look. A
    device list the server tampered with is shown as a failed check, not as "waiting"."""
    team = build_team(page, browser, app_server, third_party_guard, data_dir)
    try:
        therapist, phone = team.therapist_page, team.client_page
        laptop_context = new_context(browser, app_server, third_party_guard)
        team.contexts.append(laptop_context)
        laptop = laptop_context.new_page()
        sign_in_through_page(laptop, team.client_email, team.client_password)
        expect_signed_in(laptop)
        lists = DeviceListVersion.objects.filter(user__email=team.client_email)
        expect(laptop.get_by_role("link", name="Messages")).to_be_visible(timeout=SLOW)
        deadline = time.monotonic() + 30
        while lists.count() < 2 and time.monotonic() < deadline:
            laptop.wait_for_timeout(200)  # not time.sleep: see docs/testing.md
        assert sorted(lists.values_list("seq", flat=True)) == [1, 2]

        open_conversation_as_therapist(therapist, "Sam Client")
        for device in (phone, laptop):
            open_conversation_as_client(device)
        first = canary()
        send(therapist, first)
        for device in (phone, laptop):
            expect(messages(device).get_by_text(first)).to_be_visible(timeout=SLOW)

        from_laptop = canary()
        send(laptop, from_laptop)
        for device in (therapist, phone):
            expect(messages(device).get_by_text(from_laptop)).to_be_visible(timeout=SLOW)

        # A second look at the client's keys (the pin is now the newest device list) still
        # finds them good, and what the therapist sends still reaches both devices.
        go(therapist, "Security")
        open_conversation_as_therapist(therapist, "Sam Client")
        expect(therapist.get_by_role("list", name="Key verification")).to_contain_text(
            "Sam Client Not yet verified", timeout=SLOW
        )
        again = canary()
        send(therapist, again)
        for device in (phone, laptop):
            expect(messages(device).get_by_text(again)).to_be_visible(timeout=SLOW)
            assert texts_in_order(device).index(first) < texts_in_order(device).index(again)

        # A device list the server tampered with is not "waiting for the practice": the page
        # says plainly that the therapist failed a check and cannot read what is sent.
        tampered = DeviceListVersion.objects.get(user__email=team.therapist_email)
        listed = json.loads(tampered.envelope)
        listed["sig"] = ("A" if listed["sig"][0] != "A" else "B") + listed["sig"][1:]
        tampered.envelope = json.dumps(listed)
        tampered.save(update_fields=["envelope"])
        go(phone, "Security")
        open_conversation_as_client(phone)
        expect(phone.get_by_role("list", name="Key verification")).to_contain_text(
            re.compile(r"Dr Rivera Keys failed a check \(E_[A-Z_]+\)"), timeout=SLOW
        )
        expect(phone.get_by_role("alert")).to_contain_text(
            "Dr Rivera cannot read what you send here: their keys failed a check"
        )
    finally:
        for context in team.contexts:
            context.close()
