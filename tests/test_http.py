"""Every response carries the security headers; bad input gets a clear JSON error and changes
nothing; no stack trace ever reaches a caller."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from quietroom.accounts.models import User
from tests.harness.personas import Personas
from tests.harness.server import AppServer

API_JSON = "application/json"


def assert_security_headers(response: object, *, api: bool) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval'" not in csp.replace("wasm-unsafe-eval'", "")
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "camera=(self)" in headers["Permissions-Policy"]
    assert "microphone=(self)" in headers["Permissions-Policy"]
    assert "Server" not in headers
    if api:
        assert headers["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "status", "api"),
    [
        ("get", "/", 200, False),
        ("get", "/protection", 200, False),
        ("get", "/api/health", 200, True),
        ("get", "/api/meta", 200, True),
        ("get", "/api/session", 401, True),
        ("get", "/api/nothing-here", 404, True),
        ("delete", "/api/meta", 405, True),
        ("get", "/no/such/page", 404, False),
    ],
)
def test_security_headers_on_every_response(
    client: Client, method: str, path: str, status: int, api: bool
) -> None:
    response = getattr(client, method)(path, headers={"Accept": "text/html"})
    assert response.status_code == status
    assert_security_headers(response, api=api)


@pytest.mark.django_db
def test_hsts_and_secure_cookies_only_over_tls(client: Client) -> None:
    response = client.get("/api/health")
    assert "Strict-Transport-Security" not in response.headers  # plain http on loopback


def test_static_assets_are_immutable_and_index_is_not_cached(client: Client) -> None:
    assets = sorted((Path(settings.WEB_DIST) / "assets").glob("index-*.js"))
    assert assets, "the web client must be built before the tests (scripts/test does it)"
    response = client.get(f"/assets/{assets[0].name}")
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]
    assert_security_headers(response, api=False)


@pytest.mark.django_db
def test_unknown_api_route_is_json_404(client: Client) -> None:
    response = client.get("/api/v0/whatever", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["Content-Type"] == API_JSON
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_unknown_page_for_a_browser_is_the_app_with_404(client: Client) -> None:
    response = client.get("/elsewhere", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_wrong_method_is_json_405_with_allow(client: Client) -> None:
    response = client.put("/api/meta")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


@pytest.mark.django_db
def test_post_to_a_page_is_405(client: Client) -> None:
    response = client.post("/sign-in")
    assert response.status_code == 405


@pytest.fixture
def signed_in(client: Client, personas: Personas) -> tuple[Client, User]:
    client.force_login(personas.client.user)
    return client, personas.client.user


def test_profile_update_round_trip(signed_in: tuple[Client, User]) -> None:
    client, user = signed_in
    response = client.patch(
        "/api/profile", data={"display_name": "  Sam Rivera "}, content_type=API_JSON
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Sam Rivera"
    user.refresh_from_db()
    assert user.display_name == "Sam Rivera"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "malformed_json"),
        ("[]", "invalid"),
        (json.dumps({}), "invalid"),
        (json.dumps({"display_name": ""}), "invalid"),
        (json.dumps({"display_name": "x" * 121}), "invalid"),
        (json.dumps({"display_name": 7}), "invalid"),
        (json.dumps({"display_name": "Sam", "role": "owner"}), "invalid"),
        (json.dumps({"display_name": "Sam\nRivera"}), "bad_request"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(
    signed_in: tuple[Client, User], body: str, code: str
) -> None:
    client, user = signed_in
    before = user.display_name
    response = client.patch("/api/profile", data=body, content_type=API_JSON)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == API_JSON
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    user.refresh_from_db()
    assert user.display_name == before


def test_oversized_body_is_413_and_changes_nothing(signed_in: tuple[Client, User]) -> None:
    client, user = signed_in
    before = user.display_name
    body = json.dumps({"display_name": "x" * (settings.MAX_REQUEST_BYTES + 1)})
    response = client.patch("/api/profile", data=body, content_type=API_JSON)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    user.refresh_from_db()
    assert user.display_name == before


def test_write_without_csrf_token_is_refused(personas: Personas) -> None:
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(personas.client.user)
    response = csrf_client.patch(
        "/api/profile", data={"display_name": "Mallory"}, content_type=API_JSON
    )
    assert response.status_code == 403
    personas.client.user.refresh_from_db()
    assert personas.client.user.display_name != "Mallory"


@pytest.mark.django_db
def test_anonymous_write_is_401(client: Client) -> None:
    response = client.patch("/api/profile", data={"display_name": "x"}, content_type=API_JSON)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_server_error_is_json_without_a_trace(
    personas: Personas, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(user: User) -> list[object]:
        raise RuntimeError("secret-detail-that-must-not-leak")

    monkeypatch.setattr("quietroom.accounts.api.active_memberships", explode)
    client = Client(raise_request_exception=False)
    client.force_login(personas.client.user)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/session")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert b"secret-detail" not in response.content
    assert b"Traceback" not in response.content
    logged = " ".join(r.getMessage() + str(getattr(r, "error", "")) for r in caplog.records)
    assert "RuntimeError" in logged
    assert "secret-detail" not in logged


@pytest.mark.django_db
def test_database_durability_settings(client: Client) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 2  # FULL
        else:
            for name in ("fsync", "synchronous_commit", "full_page_writes"):
                cursor.execute(f"SHOW {name}")
                assert cursor.fetchone()[0] == "on", name


@pytest.mark.django_db(transaction=True)
def test_chunked_body_over_the_limit_is_cut_off_with_413(app_server: AppServer) -> None:
    """Without Content-Length, the server must stop reading at the limit, not spool it all."""
    with socket.create_connection(("127.0.0.1", app_server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/csp-report HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < settings.MAX_REQUEST_BYTES * 4:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except OSError:
            pass  # the server may close the connection as soon as it has answered
        answer = b""
        while b'"too_large"' not in answer and (data := sock.recv(4096)):
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"too_large"' in answer
