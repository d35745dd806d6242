"""Production mode (an https:// public URL behind a TLS proxy): HSTS, HTTPS redirects and
__Host- cookies, checked against the real server."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
from django.conf import settings

from tests.harness.server import AppServer, start_app_server


@pytest.fixture(scope="module")
def tls_server(django_db_setup: None) -> Iterator[AppServer]:
    server = start_app_server(
        settings.CONFIG.data_dir,
        extra_env={
            "QUIETROOM_PUBLIC_URL": "https://therapy.example.org",
            "QUIETROOM_TRUSTED_PROXY": "true",
        },
    )
    yield server
    server.stop()


def get(server: AppServer, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path, headers={"Host": "therapy.example.org", **headers})
    return connection.getresponse()


def test_plain_http_page_redirects_to_https(tls_server: AppServer) -> None:
    response = get(tls_server, "/protection", {})
    assert response.status == 301
    assert response.headers["Location"] == "https://therapy.example.org/protection"


def test_https_responses_carry_hsts(tls_server: AppServer) -> None:
    response = get(tls_server, "/", {"X-Forwarded-Proto": "https"})
    assert response.status == 200
    hsts = response.headers["Strict-Transport-Security"]
    assert hsts == "max-age=63072000; includeSubDomains; preload"


def test_cookies_are_host_prefixed_and_secure(tls_server: AppServer) -> None:
    response = get(tls_server, "/", {"X-Forwarded-Proto": "https"})
    cookies = response.headers.get_all("Set-Cookie") or []
    assert any(cookie.startswith("__Host-qr-csrf=") for cookie in cookies), cookies
    for cookie in cookies:
        assert cookie.startswith("__Host-"), cookie
        assert "Secure" in cookie, cookie


def test_foreign_host_is_refused(tls_server: AppServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", tls_server.port, timeout=10)
    connection.request(
        "GET", "/api/meta", headers={"Host": "evil.example", "X-Forwarded-Proto": "https"}
    )
    assert connection.getresponse().status == 400
