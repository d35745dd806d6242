"""Practice-assisted recovery on the server, end to end (crypto-protocol §10.2): the locked
client's request, the owner's transfer with a signed record after a fresh authentication, and
the completion with a new AIK around the same AEK. The crypto on both sides is the real one."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.db import transaction

from quietroom.audit.models import AuditEvent
from quietroom.crypto.account import AccountKeys as CryptoKeys
from quietroom.crypto.encoding import b64url_decode, b64url_encode
from quietroom.crypto.keys import ed25519_from_seed, kid, random_bytes, raw_public
from quietroom.crypto.practice import PracticeKeys
from quietroom.crypto.recovery import open_transfer, recover_to_device, sign_record
from quietroom.directory.models import PrskWrap
from quietroom.keys import services
from quietroom.keys.models import AccountKeys, AekBind, DevWrap, PasswordWrap, RecoveryRequest
from tests.harness.personas import Personas
from tests.keys.world import Keyring, api, install_config, keyring, now_ms, post_json, upload_keys

pytestmark = pytest.mark.django_db


@dataclass
class Scene:
    practice_keys: PracticeKeys
    owner: Keyring
    client: Keyring
    t: X25519PrivateKey
    request_id: str

    @property
    def t_pub(self) -> bytes:
        return raw_public(self.t)


def locked_client_with_request(personas: Personas) -> Scene:
    practice_keys = install_config(personas.practice)
    owner = keyring(personas.owner.user, personas.practice, practice_keys)
    client = keyring(personas.client.user, personas.practice, practice_keys)
    assert upload_keys(api(owner.user), owner).status_code == 201
    assert upload_keys(api(client.user), client).status_code == 201
    stored = AccountKeys.objects.get(user=client.user)
    PrskWrap.objects.create(
        practice=personas.practice, user=client.user, aek_id=stored.aek_id, ct="b2xk"
    )
    with transaction.atomic():  # what the password_reset receiver does (tested elsewhere)
        services.lock_on_password_reset(client.user, None)
    t = X25519PrivateKey.generate()
    response = post_json(
        api(client.user), "/api/keys/recovery/requests", {"t_pub": b64url_encode(raw_public(t))}
    )
    assert response.status_code == 201, response.json()
    return Scene(practice_keys, owner, client, t, response.json()["id"])


def transfer_body(
    scene: Scene, *, at: int | None = None, signer: object = None
) -> dict[str, object]:
    """The owner's browser: open the escrow with the PRK, seal the AEK to T, sign the record."""
    listed = api(scene.owner.user).get(
        f"/api/practices/{scene.client.practice_id}/recovery-requests"
    )
    [entry] = listed.json()["requests"]
    aek_id = kid("x25519", b64url_decode(entry["aek_pub"], 32))
    ct = recover_to_device(
        scene.practice_keys.prk,
        b64url_decode(entry["rec_escrow"]["ct"]),
        practice_id=scene.client.practice_id,
        user_id=scene.client.user.id,
        aek_id=aek_id,
        t_pub=b64url_decode(entry["t_pub"], 32),
    )
    at = at if at is not None else now_ms()
    sig = sign_record(
        signer or scene.owner.keys.aik,  # type: ignore[arg-type]
        practice_id=scene.client.practice_id,
        user_id=scene.client.user.id,
        t_id=kid("x25519", scene.t_pub),
        aek_id=aek_id,
        at=at,
        method="browser",
    )
    return {"ct": b64url_encode(ct), "at": at, "method": "browser", "sig": b64url_encode(sig)}


def transfer_body_for_used(scene: Scene) -> dict[str, object]:
    """A well-formed transfer for a request the admin can no longer list."""
    return {"ct": b64url_encode(bytes(96)), "at": now_ms(), "method": "browser",
            "sig": b64url_encode(bytes(64))}  # fmt: skip


def transfer_path(scene: Scene) -> str:
    return (
        f"/api/practices/{scene.client.practice_id}/recovery-requests/{scene.request_id}/transfer"
    )


def recovered_ring(scene: Scene, aek: X25519PrivateKey) -> Keyring:
    """§10.2 step 5 on the user's new device: new UK and AIK, the recovered AEK, ver + 1, the
    device list continuing the old numbering."""
    old = scene.client
    return Keyring(
        user=old.user,
        practice_id=old.practice_id,
        prk_pub=old.prk_pub,
        keys=CryptoKeys(aik=ed25519_from_seed(random_bytes(32)), aek=aek),
        ver=old.ver + 1,
        devices=old.devices[:],
        lists=old.lists[:],
    )


def test_recovery_end_to_end(personas: Personas) -> None:
    scene = locked_client_with_request(personas)
    client = api(scene.client.user)
    status = client.get(f"/api/keys/recovery/requests/{scene.request_id}").json()
    assert (status["status"], status["transfer"]) == ("waiting", None)

    response = post_json(api(scene.owner.user), transfer_path(scene), transfer_body(scene))
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "transferred"
    event = AuditEvent.objects.get(action="recovery.transferred")
    assert (event.actor_id, event.client_id) == (
        scene.owner.user.id, personas.client.membership.id
    )  # fmt: skip

    status = client.get(f"/api/keys/recovery/requests/{scene.request_id}").json()
    assert status["status"] == "transferred"
    aek = open_transfer(
        scene.t,
        b64url_decode(status["transfer"]["ct"]),
        practice_id=scene.client.practice_id,
        user_id=scene.client.user.id,
        aek_id=kid("x25519", b64url_decode(status["transfer"]["aek_pub"], 32)),
    )
    assert raw_public(aek) == scene.client.keys.aek_pub

    ring = recovered_ring(scene, aek)
    body = {"request_id": scene.request_id, "keys": ring.keys_in(pw_ver=2)}
    done = post_json(client, "/api/keys/recovery/complete", body)
    assert done.status_code == 200, done.json()
    out = done.json()
    assert out["keys_locked"] is False
    assert out["bundle"]["aik_pub"] == b64url_encode(ring.keys.aik_pub)
    assert out["bundle"]["aek_pub"] == b64url_encode(scene.client.keys.aek_pub)
    assert [b["ver"] for b in out["aek_binds"]] == [1, 2]
    assert [dl["seq"] for dl in out["device_lists"]] == [1, 2]
    assert out["pw_wrap"]["ver"] == 2
    assert out["older_pw_wraps"] == []
    assert out["prsk_wrap"] is None
    user = scene.client.user
    assert not PrskWrap.objects.filter(user=user).exists()
    assert list(DevWrap.objects.filter(user=user).values_list("device_id", flat=True)) == [
        ring.devices[-1].device_id
    ]
    assert PasswordWrap.objects.filter(user=user).count() == 1
    assert AekBind.objects.filter(user=user).count() == 2
    assert client.get(f"/api/keys/recovery/requests/{scene.request_id}").json()["status"] == (
        "completed"
    )
    assert client.get("/api/session").json()["keys"] == "ready"
    assert "recovery.completed" in AuditEvent.objects.values_list("action", flat=True)
    # Replays: the request is used up.
    again = post_json(api(scene.owner.user), transfer_path(scene), transfer_body_for_used(scene))
    assert again.status_code == 404
    assert post_json(client, "/api/keys/recovery/complete", body).status_code == 404


def test_request_needs_locked_keys(personas: Personas) -> None:
    keys = install_config(personas.practice)
    ring = keyring(personas.client.user, personas.practice, keys)
    client = api(ring.user)
    upload_keys(client, ring)
    t_pub = b64url_encode(raw_public(X25519PrivateKey.generate()))
    response = post_json(client, "/api/keys/recovery/requests", {"t_pub": t_pub})
    assert response.status_code == 409
    assert not RecoveryRequest.objects.exists()
    # Without keys at all there is nothing to recover.
    other = post_json(api(personas.other_client.user), "/api/keys/recovery/requests",
                      {"t_pub": t_pub})  # fmt: skip
    assert other.status_code == 404


def test_a_new_request_cancels_the_open_one(personas: Personas) -> None:
    scene = locked_client_with_request(personas)
    client = api(scene.client.user)
    t_pub = b64url_encode(raw_public(X25519PrivateKey.generate()))
    assert post_json(client, "/api/keys/recovery/requests", {"t_pub": t_pub}).status_code == 201
    old = client.get(f"/api/keys/recovery/requests/{scene.request_id}").json()
    assert old["status"] == "cancelled"


def test_transfer_needs_a_fresh_authentication(personas: Personas) -> None:
    scene = locked_client_with_request(personas)
    body = transfer_body(scene)
    stale = api(scene.owner.user, fresh_auth=False)
    response = post_json(stale, transfer_path(scene), body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "reauthentication_required"
    assert RecoveryRequest.objects.get().transferred_at is None


def test_transfer_refusals(personas: Personas) -> None:
    scene = locked_client_with_request(personas)
    owner = api(scene.owner.user)
    cases = {
        "signed by another key": (
            transfer_body(scene, signer=ed25519_from_seed(random_bytes(32))),
            "E_SIG",
        ),
        "record time is not now": (transfer_body(scene, at=now_ms() - 3_600_000), None),
    }
    tampered = transfer_body(scene)
    tampered["method"] = "offline"  # the record was signed for "browser"
    cases["method differs from the signed record"] = (tampered, "E_SIG")
    for name, (body, code) in cases.items():
        response = post_json(owner, transfer_path(scene), body)
        assert response.status_code == 400, name
        assert response.json()["error"].get("crypto") == code, name
    assert RecoveryRequest.objects.get().transferred_at is None
    assert not AuditEvent.objects.filter(action="recovery.transferred").exists()


@pytest.mark.parametrize(
    "who", ["therapist", "client", "other_client", "removed_member", "other_practice_therapist"]
)
def test_only_owners_and_admins_see_and_transfer(personas: Personas, who: str) -> None:
    scene = locked_client_with_request(personas)
    body = transfer_body(scene)
    caller = api(getattr(personas, who).user)
    listed = caller.get(f"/api/practices/{personas.practice.id}/recovery-requests")
    assert listed.status_code == 404
    response = post_json(caller, transfer_path(scene), body)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Nothing was found here."}}
    assert RecoveryRequest.objects.get().transferred_at is None


@pytest.mark.parametrize(
    "who", ["owner", "therapist", "other_client", "removed_member", "other_practice_therapist"]
)
def test_a_request_is_only_its_users(personas: Personas, who: str) -> None:
    scene = locked_client_with_request(personas)
    caller = api(getattr(personas, who).user)
    assert caller.get(f"/api/keys/recovery/requests/{scene.request_id}").status_code == 404
    ring = recovered_ring(scene, X25519PrivateKey.generate())
    body = {"request_id": scene.request_id, "keys": ring.keys_in()}
    assert post_json(caller, "/api/keys/recovery/complete", body).status_code == 404
    assert api(None).get(f"/api/keys/recovery/requests/{scene.request_id}").status_code == 401


def test_completion_refusals(personas: Personas) -> None:
    scene = locked_client_with_request(personas)
    client = api(scene.client.user)
    early = recovered_ring(scene, scene.client.keys.aek)
    body = {"request_id": scene.request_id, "keys": early.keys_in(pw_ver=2)}
    assert post_json(client, "/api/keys/recovery/complete", body).status_code == 409
    post_json(api(scene.owner.user), transfer_path(scene), transfer_body(scene))

    def attempt(ring: Keyring) -> tuple[int, str | None]:
        response = post_json(
            client, "/api/keys/recovery/complete",
            {"request_id": scene.request_id, "keys": ring.keys_in(pw_ver=2)},
        )  # fmt: skip
        return response.status_code, response.json()["error"].get("crypto")

    other_aek = recovered_ring(scene, X25519PrivateKey.generate())
    assert attempt(other_aek) == (400, "E_CERT")
    same_aik = recovered_ring(scene, scene.client.keys.aek)
    same_aik.keys = scene.client.keys
    assert attempt(same_aik) == (400, "E_CERT")
    restarted = recovered_ring(scene, scene.client.keys.aek)
    restarted.lists = []  # a fresh list at seq 1 instead of continuing the numbering
    restarted.devices = []
    assert attempt(restarted) == (400, "E_CHAIN")
    old_ver = recovered_ring(scene, scene.client.keys.aek)
    old_ver.ver = 1
    assert attempt(old_ver) == (400, "E_CHAIN")
    assert AccountKeys.objects.get(user=scene.client.user).keys_locked is True
    assert not AuditEvent.objects.filter(action="recovery.completed").exists()


def test_owner_list_names_the_escrow(personas: Personas) -> None:
    scene = locked_client_with_request(personas)
    listed = api(scene.owner.user).get(f"/api/practices/{personas.practice.id}/recovery-requests")
    [entry] = listed.json()["requests"]
    assert entry["user_id"] == str(scene.client.user.id)
    assert entry["role"] == "client"
    assert entry["t_pub"] == b64url_encode(scene.t_pub)
    assert entry["rec_escrow"]["prk_id"] == b64url_encode(scene.practice_keys.prk_id)
    assert AuditEvent.objects.filter(action="recovery.requests.read").count() == 1
    # Another practice's owner-level caller sees nothing of it.
    elsewhere = api(personas.other_practice_therapist.user)
    assert (
        elsewhere.get(f"/api/practices/{personas.other_practice.id}/recovery-requests").status_code
        == 404
    )
