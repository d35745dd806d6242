"""Automatic logoff on the server (AU-08): 15 minutes idle for staff, 30 for clients, 12 hours
from sign-in however active; an expired session answers the API with 401 and its row is
gone; activity is written to the session at most once a minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session

from quietroom.audit.models import AuditEvent
from tests.harness.personas import Persona, Personas
from tests.test_signin import BASE, Browser, give_sign_in

pytestmark = pytest.mark.django_db

START = datetime(2031, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def sign_in(persona: Persona) -> Browser:
    key = give_sign_in(persona.user)
    browser = Browser()
    assert browser.login(persona.user.email, key).status_code == 200
    return browser


def session_exists(browser: Browser) -> bool:
    return Session.objects.filter(session_key=browser.session_key).exists()


def test_staff_signed_out_after_15_minutes_idle(
    personas: Personas, clock: time_machine.Traveller
) -> None:
    browser = sign_in(personas.therapist)
    clock.shift(timedelta(minutes=14, seconds=59))
    assert browser.get("/api/session").status_code == 200
    clock.shift(timedelta(minutes=15, seconds=1))
    assert session_exists(browser)
    response = browser.get("/api/session")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"
    assert not session_exists(browser)  # ended on the server, not just forgotten by the cookie
    assert browser.get("/api/session").status_code == 401
    expired = AuditEvent.objects.get(action="auth.session.expired")
    assert (expired.actor_id, expired.reason) == (personas.therapist.user.id, "idle timeout")


def test_client_has_30_minutes(personas: Personas, clock: time_machine.Traveller) -> None:
    browser = sign_in(personas.client)
    clock.shift(timedelta(minutes=15, seconds=1))
    assert browser.get("/api/session").status_code == 200  # staff would be out by now
    clock.shift(timedelta(minutes=29, seconds=59))
    assert browser.get("/api/session").status_code == 200
    clock.shift(timedelta(minutes=30, seconds=1))
    assert browser.get("/api/session").status_code == 401


def test_allauth_endpoints_see_the_expiry_too(
    personas: Personas, clock: time_machine.Traveller
) -> None:
    browser = sign_in(personas.owner)
    clock.shift(timedelta(minutes=15, seconds=1))
    response = browser.get(f"{BASE}/auth/session")
    assert response.status_code == 401
    assert response.json()["meta"]["is_authenticated"] is False


def test_activity_keeps_a_session_but_not_past_12_hours(
    personas: Personas, clock: time_machine.Traveller
) -> None:
    browser = sign_in(personas.therapist)
    for _ in range(12 * 6 - 1):  # a request every 10 minutes, up to 11 h 50 min
        clock.shift(timedelta(minutes=10))
        assert browser.get("/api/session").status_code == 200
    clock.shift(timedelta(minutes=10, seconds=1))
    response = browser.get("/api/session")
    assert response.status_code == 401
    assert AuditEvent.objects.get(action="auth.session.expired").reason == (
        "absolute session lifetime reached"
    )


def test_activity_is_written_at_most_once_a_minute(
    personas: Personas, clock: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = sign_in(personas.client)
    saves: list[str | None] = []
    original = SessionStore.save

    def counting_save(self: SessionStore, must_create: bool = False) -> None:
        saves.append(self.session_key)
        original(self, must_create)

    monkeypatch.setattr(SessionStore, "save", counting_save)
    for _ in range(5):
        clock.shift(timedelta(seconds=10))
        assert browser.get("/api/session").status_code == 200
    assert saves == []
    clock.shift(timedelta(seconds=11))  # 61 s since sign-in
    assert browser.get("/api/session").status_code == 200
    assert len(saves) == 1
    assert browser.get("/api/session").status_code == 200
    assert len(saves) == 1


def test_a_role_change_is_picked_up_within_a_minute(
    personas: Personas, clock: time_machine.Traveller
) -> None:
    browser = sign_in(personas.client)
    membership = personas.client.membership
    membership.role = "therapist"
    membership.save()
    clock.shift(timedelta(minutes=1))
    assert browser.get("/api/session").status_code == 200  # re-reads the role: now staff
    clock.shift(timedelta(minutes=15, seconds=1))
    assert browser.get("/api/session").status_code == 401
