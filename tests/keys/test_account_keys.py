"""PUT/GET /api/keys/account (crypto-protocol §4; docs/api/keys.md): what a browser uploads is
checked with the protocol core before anything is stored, every refusal names the protocol
error and writes nothing, and the answer gives back the exact envelopes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from quietroom.audit.models import AuditEvent
from quietroom.crypto import devices, envelope
from quietroom.crypto.encoding import b64url_encode
from quietroom.directory.models import PrskWrap
from quietroom.keys.models import AccountKeys, AekBind, DeviceListVersion, DevWrap, PasswordWrap
from quietroom.keys.services import account_keys_out
from tests.harness.personas import Personas
from tests.keys.world import Json, api, install_config, keyring, put_json, upload_keys

pytestmark = pytest.mark.django_db


def nothing_stored() -> bool:
    return not any(
        model.objects.exists()
        for model in (AccountKeys, AekBind, PasswordWrap, DeviceListVersion, DevWrap, AuditEvent)
    )


def test_upload_stores_and_returns_the_exact_envelopes(personas: Personas) -> None:
    keys = install_config(personas.practice)
    ring = keyring(personas.client.user, personas.practice, keys)
    client = api(personas.client.user)
    body = ring.keys_in()
    response = put_json(client, "/api/keys/account", body)
    assert response.status_code == 201, response.json()
    out = response.json()
    assert out["bundle"] == body["bundle"]
    assert out["aek_binds"] == [body["aek_bind"]]
    assert out["device_lists"] == [body["device_list"]]
    assert out["pw_wrap"] == {
        "ver": 1, "ct": body["pw_wrap"], "kdf": body["kdf"], "confirmed": True
    }  # fmt: skip
    assert out["older_pw_wraps"] == []
    assert out["keys_locked"] is False
    assert out["user_id"] == str(personas.client.user.id)
    assert out["practice_id"] == str(personas.practice.id)
    assert out["prsk_wrap"] is None
    assert out["dev_wrap"] is None

    device_id = body["dev_wrap"]["device_id"]
    got = client.get("/api/keys/account", {"device_id": device_id})
    assert got.status_code == 200
    assert got.json()["dev_wrap"] == body["dev_wrap"]["ct"]
    [event] = AuditEvent.objects.all()
    assert (event.action, event.actor_id) == ("keys.created", personas.client.user.id)
    assert event.client_id == personas.client.membership.id  # the client's own history shows it
    assert client.get("/api/session").json()["keys"] == "ready"


def test_second_upload_is_a_conflict(personas: Personas) -> None:
    keys = install_config(personas.practice)
    ring = keyring(personas.owner.user, personas.practice, keys)
    client = api(personas.owner.user)
    assert upload_keys(client, ring).status_code == 201
    again = upload_keys(client, keyring(personas.owner.user, personas.practice, keys))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert AccountKeys.objects.count() == 1


def test_without_keys_get_is_404_and_session_says_none(personas: Personas) -> None:
    client = api(personas.client.user)
    assert client.get("/api/keys/account").status_code == 404
    session = client.get("/api/session").json()
    assert (session["keys"], session["certified"], session["mfa_enabled"]) == ("none", False, False)
    assert api(personas.therapist.user).get("/api/session").json()["mfa_enabled"] is True


def test_prsk_wrap_is_served_for_the_current_aek(personas: Personas) -> None:
    keys = install_config(personas.practice)
    ring = keyring(personas.owner.user, personas.practice, keys)
    client = api(personas.owner.user)
    upload_keys(client, ring)
    stored = AccountKeys.objects.get(user=personas.owner.user)
    PrskWrap.objects.create(
        practice=personas.practice, user=personas.owner.user, aek_id=stored.aek_id, ct="c2VhbGVk"
    )
    assert client.get("/api/keys/account").json()["prsk_wrap"] == "c2VhbGVk"


def _flip(value: str) -> str:
    return ("B" if value[0] == "A" else "A") + value[1:]


Mutation = Callable[[Json], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(body: Json) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        target[last] = value

    return mutate


def _apply(path: str, fn: Callable[[Any], Any]) -> Mutation:
    def mutate(body: Json) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        target[last] = fn(target[last])

    return mutate


REFUSALS: list[tuple[str, Mutation, int, str]] = [
    ("aek_bind signature", _apply("aek_bind.sig", _flip), 400, "E_SIG"),
    ("device list signature", _apply("device_list.sig", _flip), 400, "E_SIG"),
    ("bundle ver 2", _set("bundle.ver", 2), 400, "E_CHAIN"),
    ("device list seq 2", _set("device_list.seq", 2), 400, "E_SIG"),  # signed over seq 1
    ("kdf out of bounds", _set("kdf.m", 1024), 400, "E_KDF_PARAMS"),
    ("kdf p=2", _set("kdf.p", 2), 400, "E_KDF_PARAMS"),
    ("kdf not the prelogin one", _set("kdf.t", 4), 400, "E_KDF_PARAMS"),
    ("escrow to another PRK", _set("rec_escrow.prk_id", b64url_encode(bytes(16))), 400, "E_WRAP"),
    ("short pw_wrap", _apply("pw_wrap", lambda v: v[:-4]), 400, "E_ENCODING"),
    (
        "bundle for another user",
        _set("bundle.user_id", "00000000-0000-4000-8000-000000000000"),
        400,
        "E_CERT",
    ),
    ("unknown bundle field", _set("bundle.extra", 1), 400, "E_SCHEMA"),
    ("bad suite", _set("aek_bind.suite", "qr9"), 400, "E_SUITE"),
]


@pytest.mark.parametrize(
    ("name", "mutate", "status", "code"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusals_write_nothing(
    personas: Personas, name: str, mutate: Mutation, status: int, code: str
) -> None:
    keys = install_config(personas.practice)
    ring = keyring(personas.therapist.user, personas.practice, keys)
    body = copy.deepcopy(ring.keys_in())
    mutate(body)
    response = put_json(api(personas.therapist.user), "/api/keys/account", body)
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert (error["code"], error["crypto"]) == ("bad_request", code)
    assert nothing_stored()


def test_device_list_genesis_rules(personas: Personas) -> None:
    """A first list must be seq 1 with a zero prev_hash and be signed by the bundle's AIK."""
    keys = install_config(personas.practice)
    ring = keyring(personas.client.user, personas.practice, keys)
    body = ring.keys_in()
    # Re-sign seq 2 under the right AIK: the signature holds, the chain rule refuses it.
    bad = devices.sign_device_list(
        ring.keys.aik, user_id=ring.user.id, seq=2, prev_hash=bytes(32), created_at=1,
        entries=[d.entry() for d in ring.devices],
    )  # fmt: skip
    body["device_list"] = envelope.encode_device_list(bad)
    response = put_json(api(ring.user), "/api/keys/account", body)
    assert response.json()["error"]["crypto"] == "E_CHAIN"
    # Signed by another key than the bundle's AIK.
    other = keyring(ring.user, personas.practice, keys)
    body = ring.keys_in()
    other.devices = ring.devices[-1:]
    body["device_list"] = envelope.encode_device_list(other.next_list())
    response = put_json(api(ring.user), "/api/keys/account", body)
    assert response.json()["error"]["crypto"] == "E_SIG"
    assert nothing_stored()


def test_dev_wrap_must_name_an_active_device(personas: Personas) -> None:
    keys = install_config(personas.practice)
    ring = keyring(personas.client.user, personas.practice, keys)
    body = ring.keys_in()
    body["dev_wrap"]["device_id"] = "0190a3b2-0000-7000-8000-000000000001"
    response = put_json(api(ring.user), "/api/keys/account", body)
    assert response.status_code == 400
    assert nothing_stored()


def test_no_practice_config_is_refused(personas: Personas) -> None:
    keys = install_config(personas.other_practice)  # a config elsewhere does not count
    ring = keyring(personas.client.user, personas.practice, keys)
    response = upload_keys(api(ring.user), ring)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert nothing_stored()


def test_schema_errors_are_invalid(personas: Personas) -> None:
    keys = install_config(personas.practice)
    ring = keyring(personas.client.user, personas.practice, keys)
    body = ring.keys_in()
    body["surprise"] = True
    response = put_json(api(ring.user), "/api/keys/account", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert nothing_stored()


def test_no_membership_and_anonymous(personas: Personas) -> None:
    keys = install_config(personas.practice)
    removed = personas.removed_member.user
    ring = keyring(removed, personas.practice, keys)
    assert upload_keys(api(removed), ring).status_code == 404
    assert upload_keys(api(None), ring).status_code == 401
    assert api(None).get("/api/keys/account").status_code == 401
    assert nothing_stored()


def test_keys_of_others_are_never_served(personas: Personas) -> None:
    keys = install_config(personas.practice)
    upload_keys(api(personas.client.user), keyring(personas.client.user, personas.practice, keys))
    for persona in (personas.other_client, personas.therapist, personas.owner):
        assert api(persona.user).get("/api/keys/account").status_code == 404
    assert account_keys_out(personas.client.user, None)["user_id"] == str(personas.client.user.id)
