"""Sign-out tells the browser to drop its HTTP cache, and only that: "storage" would wipe the
IndexedDB device keys and the wrapped Secret Key, which must outlive a sign-out (AU-08;
crypto-protocol §3.5, §5.2)."""

from __future__ import annotations

import pytest
from django.http import HttpResponse

from quietroom.core.middleware import SIGN_OUT_PATH, clear_site_data
from tests.harness.personas import Personas
from tests.test_signin import BASE, Browser, give_sign_in

pytestmark = pytest.mark.django_db


def test_sign_out_clears_the_cache_not_the_storage(personas: Personas) -> None:
    assert f"{BASE}/auth/session" == SIGN_OUT_PATH
    user = personas.client.user
    browser = Browser()
    signed_in = browser.login(user.email, give_sign_in(user))
    assert signed_in.status_code == 200
    assert "Clear-Site-Data" not in signed_in.headers
    assert "Clear-Site-Data" not in browser.get(SIGN_OUT_PATH).headers
    response = browser.delete(SIGN_OUT_PATH)
    assert response.status_code == 401  # allauth: now signed out
    assert response.headers["Clear-Site-Data"] == '"cache"'
    assert browser.get("/api/session").status_code == 401


def test_other_requests_keep_the_cache() -> None:
    browser = Browser()
    for path in ("/api/meta", "/api/health", f"{BASE}/config"):
        assert "Clear-Site-Data" not in browser.get(path).headers


def test_forgetting_the_device_also_clears_storage() -> None:
    response = HttpResponse()
    clear_site_data(response, storage=True)
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
