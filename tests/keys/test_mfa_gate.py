"""The MFA gate (docs/api/keys.md, "Gates"): staff without a second factor get 403
`mfa_required` from the API, except what they need to enrol one and set up their keys; clients
are not gated; allauth's own endpoints stay open. Owners and admins without a passkey get 403
`passkey_required` from the key-management and admin operations (AU-01)."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator

from quietroom.accounts.mfa_gate import is_open, passkey_practice
from quietroom.accounts.models import User
from quietroom.practices.models import Membership, Role
from tests.harness.personas import Personas, give_passkey, give_totp
from tests.keys.world import api

pytestmark = pytest.mark.django_db

MFA_REQUIRED = {
    "error": {"code": "mfa_required", "message": "Set up two-step verification to continue."}
}


@pytest.mark.parametrize("who", ["owner", "therapist"])
def test_staff_without_a_second_factor_are_gated(personas: Personas, who: str) -> None:
    user = getattr(personas, who).user
    Authenticator.objects.filter(user=user).delete()
    client = api(user)
    for path in ("/api/audit/events", f"/api/practices/{personas.practice.id}/invitations",
                 f"/api/practices/{personas.practice.id}/recovery-requests",
                 "/api/keys/recovery/requests/00000000-0000-4000-8000-000000000000"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.json() == MFA_REQUIRED
    assert (
        client.patch("/api/profile", {"display_name": "X"}, "application/json").status_code == 403
    )
    # What enrolment and key set-up need stays open.
    session = client.get("/api/session")
    assert session.status_code == 200
    assert session.json()["mfa_enabled"] is False
    assert client.get("/api/keys/account").status_code == 404  # no keys yet, but not gated
    assert client.get("/api/keys/devices").status_code == 200
    assert client.get("/api/health").status_code == 200
    assert client.get("/_allauth/browser/v1/account/authenticators").status_code == 200


def test_a_second_factor_opens_the_gate(personas: Personas) -> None:
    user = personas.owner.user
    Authenticator.objects.filter(user=user).delete()
    assert api(user).get("/api/audit/events").status_code == 403
    give_totp(user)
    assert api(user).get("/api/audit/events").status_code == 200
    assert api(user).get("/api/session").json()["mfa_enabled"] is True


def test_recovery_codes_alone_are_not_a_second_factor(personas: Personas) -> None:
    user = personas.therapist.user
    Authenticator.objects.filter(user=user).delete()
    Authenticator.objects.create(user=user, type=Authenticator.Type.RECOVERY_CODES, data={})
    assert api(user).get("/api/audit/events").status_code == 403


def test_clients_and_removed_members_are_not_gated(personas: Personas) -> None:
    assert api(personas.client.user).get("/api/audit/my-access").status_code == 200
    # A removed therapist is no longer staff anywhere: the API's own 404s answer them.
    removed = personas.removed_member.user
    Authenticator.objects.filter(user=removed).delete()
    assert api(removed).get("/api/audit/events").status_code == 404


def test_anonymous_callers_get_401_not_the_gate() -> None:
    assert api(None).get("/api/audit/events").status_code == 401


def test_open_list() -> None:
    assert is_open("GET", "/api/session")
    assert not is_open("PATCH", "/api/session")
    assert is_open("PUT", "/api/keys/account")
    assert not is_open("DELETE", "/api/keys/account")
    assert is_open("POST", "/api/keys/pw-wrap/pending")
    assert is_open("DELETE", "/api/keys/devices/abc/dev-wrap")
    assert not is_open("POST", "/api/keys/recovery/requests")
    assert not is_open("GET", "/api/keys/accountx")
    # A new device pins the PRSK from the signed configs before enrolment is finished.
    assert is_open("GET", "/api/practices/0190a5c1-2b3c-7d4e-8f90-0123456789ab/configs")
    assert not is_open("POST", "/api/practices/0190a5c1-2b3c-7d4e-8f90-0123456789ab/configs")
    assert not is_open("GET", "/api/practices/0190a5c1-2b3c-7d4e-8f90-0123456789ab/directory")


# AU-01: owners and admins must hold a passkey for the key-management and admin operations.
PASSKEY_REQUIRED = {
    "error": {
        "code": "passkey_required",
        "message": "Add a passkey to manage the practice's keys and team.",
    }
}
REQUEST_ID = "00000000-0000-4000-8000-000000000000"


def _passkey_operations(personas: Personas) -> list[tuple[str, str]]:
    base = f"/api/practices/{personas.practice.id}"
    return [
        ("post", f"{base}/certificates"),
        ("post", f"{base}/revocations"),
        ("get", f"{base}/recovery-requests"),
        ("post", f"{base}/recovery-requests/{REQUEST_ID}/transfer"),
        ("post", f"{base}/invitations"),
    ]


def _call(user: User, method: str, path: str) -> Any:
    client = api(user)
    if method == "get":
        return client.get(path)
    return client.post(path, {}, "application/json")


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owners_and_admins_without_a_passkey_are_refused(personas: Personas, role: Role) -> None:
    user = personas.owner.user
    Membership.objects.filter(pk=personas.owner.membership.pk).update(role=role)
    Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).delete()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    for method, path in _passkey_operations(personas):
        response = _call(user, method, path)
        assert response.status_code == 403, path
        assert response.json() == PASSKEY_REQUIRED, path
    # The rest of the API serves them: TOTP is enough there.
    assert api(user).get("/api/audit/events").status_code == 200
    assert api(user).get(f"/api/practices/{personas.practice.id}/invitations").status_code == 200


def test_a_passkey_passes_the_gate(personas: Personas) -> None:
    user = personas.owner.user
    Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).delete()
    give_passkey(user)
    for method, path in _passkey_operations(personas):
        response = _call(user, method, path)
        # The operation's own answer (bad input, no such request), not the gate's.
        assert response.status_code != 403 or response.json()["error"]["code"] not in (
            "passkey_required",
            "mfa_required",
        ), path
    assert (
        api(user).get(f"/api/practices/{personas.practice.id}/recovery-requests").status_code == 200
    )


def test_the_passkey_rule_leaves_therapists_alone(personas: Personas) -> None:
    user = personas.therapist.user
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.WEBAUTHN).exists()
    for method, path in _passkey_operations(personas):
        response = _call(user, method, path)
        assert response.json().get("error", {}).get("code") != "passkey_required", path


def test_an_owner_with_no_second_factor_at_all_is_asked_for_one_first(personas: Personas) -> None:
    user = personas.owner.user
    Authenticator.objects.filter(user=user).delete()
    response = api(user).post(
        f"/api/practices/{personas.practice.id}/invitations", {}, "application/json"
    )
    assert response.json() == MFA_REQUIRED


def test_passkey_only_operations() -> None:
    practice = "0190a5c1-2b3c-7d4e-8f90-0123456789ab"
    assert passkey_practice("POST", f"/api/practices/{practice}/certificates") == practice
    assert passkey_practice("GET", f"/api/practices/{practice}/invitations") is None
    assert passkey_practice("GET", f"/api/practices/{practice}/pending-certificates") is None
    assert passkey_practice("POST", f"/api/practices/{practice}/recovery-requests/x/transfer")
    assert passkey_practice("GET", f"/api/practices/{practice}/certificates") is None
