"""Quick exit (docs/api/messaging.md): sign out at once, tell the browser to forget this origin's
cache and storage, and show a page that gives nothing away."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator

from quietroom.audit.models import AuditEvent, Outcome
from quietroom.core.middleware import CONTENT_SECURITY_POLICY
from tests.harness.personas import Personas
from tests.messaging.test_blobs import as_persona

pytestmark = pytest.mark.django_db

CLEAR = '"cache", "storage"'


@pytest.mark.parametrize("who", ["client", "therapist", "owner"])
def test_quick_exit_signs_out_and_clears(personas: Personas, who: str) -> None:
    persona = getattr(personas, who)
    client = as_persona(persona)
    assert client.get("/api/session").status_code == 200
    response = client.post("/api/quick-exit")
    assert response.status_code == 204
    assert response["Clear-Site-Data"] == CLEAR
    assert response.content == b""
    assert client.get("/api/session").status_code == 401
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.actor_id) == (
        "auth.logout",
        Outcome.ALLOWED,
        persona.user.pk,
    )


def test_quick_exit_works_without_a_second_factor(personas: Personas) -> None:
    Authenticator.objects.filter(user=personas.therapist.user).delete()
    client = as_persona(personas.therapist)
    assert client.get("/api/me/notifications").status_code == 403  # the gate is on
    assert client.post("/api/quick-exit").status_code == 204
    assert client.get("/api/session").status_code == 401


def test_quick_exit_anonymous(personas: Personas) -> None:
    response = as_persona(None).post("/api/quick-exit")
    assert response.status_code == 204
    assert response["Clear-Site-Data"] == CLEAR
    assert AuditEvent.objects.count() == 0


def test_another_site_cannot_trigger_it(personas: Personas) -> None:
    client = as_persona(personas.client)
    for headers in (
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_SEC_FETCH_SITE": "same-site"},
        {"HTTP_ORIGIN": "https://evil.example"},
    ):
        response = client.post("/api/quick-exit", **headers)  # type: ignore[arg-type]
        assert response.status_code == 403
        assert "Clear-Site-Data" not in response
    assert client.get("/api/session").status_code == 200
    ok = client.post("/api/quick-exit", HTTP_SEC_FETCH_SITE="same-origin")
    assert ok.status_code == 204


def test_quick_exit_only_posts() -> None:
    assert as_persona(None).get("/api/quick-exit").status_code == 405


def test_exit_page_is_blank_and_neutral(personas: Personas) -> None:
    response = as_persona(personas.client).get("/exit")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Clear-Site-Data"] == CLEAR
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    lowered = html.lower()
    for giveaway in ("<script", "style", "quietroom", "therap", "message", "http"):
        assert giveaway not in lowered
    assert personas.practice.name not in html
    # The page does not sign anyone out by itself (quick exit's POST does).
    assert as_persona(None).get("/exit").status_code == 200


def test_exit_page_from_another_site_clears_nothing() -> None:
    client = as_persona(None)
    response = client.get("/exit", HTTP_SEC_FETCH_SITE="cross-site")
    assert response.status_code == 200
    assert "Clear-Site-Data" not in response
    typed = client.get("/exit", HTTP_SEC_FETCH_SITE="none")
    assert typed["Clear-Site-Data"] == CLEAR


def test_exit_page_only_gets() -> None:
    response = as_persona(None).post("/exit")
    assert response.status_code == 405
    assert "Clear-Site-Data" not in response
