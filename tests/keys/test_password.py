"""Password change and reset against the keys (crypto-protocol §9, §10.1), through allauth's
real headless endpoints: a change commits only with this session's pending pw_wrap and rolls
back without one; a reset locks the keys in the same transaction; a remembered device then
re-wraps the keys and the confirm unlocks them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from quietroom.accounts.models import KdfParams as StoredKdf
from quietroom.audit.models import AuditEvent
from quietroom.crypto.password import KdfParams
from quietroom.keys import services
from quietroom.keys.models import AccountKeys, PasswordWrap
from tests.harness.personas import Persona, Personas
from tests.keys.world import Keyring, api, install_config, keyring, upload_keys
from tests.test_signin import BASE, Browser, give_sign_in, new_auth_key

pytestmark = pytest.mark.django_db

CHANGE = f"{BASE}/account/password/change"
STRONGER = KdfParams(m=131072, t=3, p=1)


def signed_in_with_keys(personas: Personas, persona: Persona) -> tuple[Browser, Keyring, str]:
    keys = install_config(personas.practice)
    ring = keyring(persona.user, personas.practice, keys)
    assert upload_keys(api(persona.user), ring).status_code == 201
    key = give_sign_in(persona.user)
    browser = Browser()
    assert browser.login(persona.user.email, key).status_code == 200
    return browser, ring, key


def pending(browser: Browser, ring: Keyring, ver: int, params: KdfParams | None = None) -> Any:
    params = params or ring.kdf()
    body = {
        "ver": ver,
        "kdf": {"alg": "argon2id", "m": params.m, "t": params.t, "p": params.p},
        "ct": ring.pw_wrap(ver, params),
    }
    return browser.post("/api/keys/pw-wrap/pending", body)


def actions() -> list[str]:
    return [e.action for e in AuditEvent.objects.order_by("seq")]


def test_change_activates_the_pending_wrap_then_confirm_drops_the_old(
    personas: Personas,
) -> None:
    browser, ring, key = signed_in_with_keys(personas, personas.client)
    AuditEvent.objects.all().delete()
    assert pending(browser, ring, 2, STRONGER).status_code == 201
    new_key = new_auth_key()
    response = browser.post(CHANGE, {"current_password": key, "new_password": new_key})
    assert response.status_code == 200, response.json()
    user = personas.client.user
    user.refresh_from_db()
    assert user.check_password(new_key)
    stored = StoredKdf.objects.get(user=user)
    assert (stored.m, stored.t, stored.p) == (STRONGER.m, STRONGER.t, STRONGER.p)
    out = browser.get("/api/keys/account").json()
    assert (out["pw_wrap"]["ver"], out["pw_wrap"]["confirmed"]) == (2, False)
    assert [w["ver"] for w in out["older_pw_wraps"]] == [1]
    assert out["kdf"]["m"] == STRONGER.m

    confirmed = browser.post("/api/keys/pw-wrap/confirm", {"ver": 2})
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["older_pw_wraps"] == []
    assert confirmed.json()["pw_wrap"]["confirmed"] is True
    assert list(PasswordWrap.objects.values_list("ver", flat=True)) == [2]
    assert actions() == [
        "keys.pw_wrap.pending",
        "keys.pw_wrap.activated",
        "auth.password.changed",
        "keys.pw_wrap.confirmed",
    ]


def test_change_without_a_pending_wrap_is_refused_and_changes_nothing(
    personas: Personas,
) -> None:
    browser, _, key = signed_in_with_keys(personas, personas.client)
    AuditEvent.objects.all().delete()
    mail.outbox.clear()
    response = browser.post(CHANGE, {"current_password": key, "new_password": new_auth_key()})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "pw_wrap_pending_required"
    user = personas.client.user
    user.refresh_from_db()
    assert user.check_password(key)
    assert actions() == []
    assert mail.outbox == []  # no "your password was changed" for a change that did not happen


def test_receiver_rolls_the_change_back(
    personas: Personas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the early check (say, the pending wrap vanished in between), the receiver's refusal
    still undoes allauth's saved password: the change view runs in one transaction."""
    browser, _ring, key = signed_in_with_keys(personas, personas.client)
    monkeypatch.setattr(services, "has_pending_wrap", lambda *_args: True)
    AuditEvent.objects.all().delete()
    response = browser.post(CHANGE, {"current_password": key, "new_password": new_auth_key()})
    assert response.status_code == 409
    user = personas.client.user
    user.refresh_from_db()
    assert user.check_password(key)
    assert actions() == []
    assert PasswordWrap.objects.get(user=user).ver == 1
    assert browser.get("/api/session").status_code == 200  # the session survives the refusal


def test_another_sessions_pending_wrap_does_not_count(personas: Personas) -> None:
    browser, ring, key = signed_in_with_keys(personas, personas.therapist)
    other = Browser()
    assert other.login(personas.therapist.user.email, key).status_code == 200
    assert pending(other, ring, 2).status_code == 201
    response = browser.post(CHANGE, {"current_password": key, "new_password": new_auth_key()})
    assert response.status_code == 409
    # Nor can this session confirm the other's upload.
    assert browser.post("/api/keys/pw-wrap/confirm", {"ver": 2}).status_code == 409


def test_pending_wrap_rules(personas: Personas) -> None:
    browser, ring, _ = signed_in_with_keys(personas, personas.client)
    AuditEvent.objects.all().delete()
    for ver in (1, 3):
        response = pending(browser, ring, ver)
        assert response.json()["error"]["crypto"] == "E_CHAIN"
    weak = KdfParams(m=8192, t=1, p=1)
    body = {"ver": 2, "kdf": {"alg": "argon2id", "m": 8192, "t": 1, "p": 1},
            "ct": ring.pw_wrap(2, STRONGER)}  # fmt: skip
    assert browser.post("/api/keys/pw-wrap/pending", body).json()["error"]["crypto"] == (
        "E_KDF_PARAMS"
    )
    _ = weak
    assert not PasswordWrap.objects.filter(state="pending").exists()
    assert actions() == []
    # A second upload replaces the first.
    assert pending(browser, ring, 2).status_code == 201
    assert pending(browser, ring, 2).status_code == 201
    assert PasswordWrap.objects.filter(state="pending").count() == 1
    # A pending wrap becomes active with the password change, not by a confirm.
    assert browser.post("/api/keys/pw-wrap/confirm", {"ver": 2}).status_code == 409
    assert browser.post("/api/keys/pw-wrap/confirm", {"ver": 7}).status_code == 404


def reset_password(email: str, new_key: str) -> Any:
    mail.outbox.clear()
    anonymous = Browser()
    assert anonymous.post(f"{BASE}/auth/password/request", {"email": email}).status_code == 200
    [message] = mail.outbox
    match = re.search(r"#key=([^\s]+)", str(message.body))
    assert match is not None
    return anonymous.post(
        f"{BASE}/auth/password/reset", {"key": match.group(1), "password": new_key}
    )


def test_reset_locks_the_keys_and_a_remembered_device_unlocks_them(personas: Personas) -> None:
    _, ring, _ = signed_in_with_keys(personas, personas.client)
    user = personas.client.user
    new_key = new_auth_key()
    response = reset_password(user.email, new_key)
    assert response.status_code in (200, 401), response.json()
    assert AccountKeys.objects.get(user=user).keys_locked is True
    assert "keys.locked" in actions()
    assert "auth.password.reset" in actions()

    # §10.1: a fresh session on the remembered device opens dev_wrap (the UK) and re-wraps it.
    browser = Browser()
    assert browser.login(user.email, new_key).status_code == 200
    state = browser.get("/api/keys/account").json()
    assert state["keys_locked"] is True
    assert state["dev_wrap"] is None
    assert browser.get("/api/session").json()["keys"] == "locked"
    wrong_kdf = pending(browser, ring, 2, STRONGER)
    assert wrong_kdf.json()["error"]["crypto"] == "E_KDF_PARAMS"
    assert pending(browser, ring, 2).status_code == 201
    other = Browser()
    assert other.login(user.email, new_key).status_code == 200
    assert other.post("/api/keys/pw-wrap/confirm", {"ver": 2}).status_code == 404
    confirmed = browser.post("/api/keys/pw-wrap/confirm", {"ver": 2})
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["keys_locked"] is False
    assert list(PasswordWrap.objects.filter(user=user).values_list("ver", flat=True)) == [2]
    assert browser.get("/api/session").json()["keys"] == "ready"


def test_reset_without_keys_changes_only_the_password(personas: Personas) -> None:
    user = personas.other_client.user
    give_sign_in(user)
    new_key = new_auth_key()
    reset_password(user.email, new_key)
    user.refresh_from_db()
    assert user.check_password(new_key)
    assert not AccountKeys.objects.filter(user=user).exists()
