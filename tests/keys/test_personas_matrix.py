"""Every keys endpoint, aimed at the client's keys, devices and recovery request by everyone
else: anonymous callers get 401, other people the same 404 as for something that does not
exist, and nothing of the client's changes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from django.db import transaction
from django.test import Client

from quietroom.crypto import envelope
from quietroom.crypto.encoding import b64url_encode
from quietroom.crypto.keys import raw_public
from quietroom.keys import services
from quietroom.keys.models import (
    AccountKeys,
    DeviceListVersion,
    DevWrap,
    PasswordWrap,
    RecoveryRequest,
)
from tests.harness.personas import Personas
from tests.keys.world import Keyring, api, install_config, keyring, post_json, put_json, upload_keys

pytestmark = pytest.mark.django_db

NOT_FOUND = {"error": {"code": "not_found", "message": "Nothing was found here."}}


def client_with_request(personas: Personas) -> tuple[Keyring, str]:
    keys = install_config(personas.practice)
    ring = keyring(personas.client.user, personas.practice, keys)
    assert upload_keys(api(ring.user), ring).status_code == 201
    with transaction.atomic():
        services.lock_on_password_reset(ring.user, None)
    t_pub = b64url_encode(raw_public(X25519PrivateKey.generate()))
    response = post_json(api(ring.user), "/api/keys/recovery/requests", {"t_pub": t_pub})
    return ring, response.json()["id"]


def calls(
    ring: Keyring, request_id: str, practice_id: uuid.UUID
) -> dict[str, Callable[[Client], Any]]:
    device = ring.devices[0]
    wrap_path = f"/api/keys/devices/{device.device_id}/dev-wrap"
    kdf = {"alg": "argon2id", "m": 65536, "t": 3, "p": 1}
    transfer = f"/api/practices/{practice_id}/recovery-requests/{request_id}/transfer"
    return {
        "GET keys": lambda c: c.get("/api/keys/account", {"device_id": str(device.device_id)}),
        "PUT keys": lambda c: put_json(c, "/api/keys/account", ring.keys_in()),
        "pending": lambda c: post_json(
            c, "/api/keys/pw-wrap/pending", {"ver": 2, "kdf": kdf, "ct": ring.pw_wrap(2)}
        ),
        "confirm": lambda c: post_json(c, "/api/keys/pw-wrap/confirm", {"ver": 1}),
        "publish": lambda c: post_json(
            c,
            "/api/keys/devices",
            {"device_list": envelope.encode_device_list(ring.next_list()), "dev_wrap": None},
        ),
        "remember": lambda c: put_json(c, wrap_path, {"ct": ring.dev_wrap(device)}),
        "forget": lambda c: c.delete(wrap_path),
        "request": lambda c: post_json(
            c, "/api/keys/recovery/requests", {"t_pub": b64url_encode(bytes(range(1, 33)))}
        ),
        "status": lambda c: c.get(f"/api/keys/recovery/requests/{request_id}"),
        "admin list": lambda c: c.get(f"/api/practices/{practice_id}/recovery-requests"),
        "transfer": lambda c: post_json(
            c, transfer, {"ct": "AAAA", "at": 1, "method": "browser", "sig": "A" * 86}
        ),
        "complete": lambda c: post_json(
            c, "/api/keys/recovery/complete", {"request_id": request_id, "keys": ring.keys_in()}
        ),
    }


def snapshot(ring: Keyring) -> tuple[object, ...]:
    user = ring.user
    return (
        list(AccountKeys.objects.filter(user=user).values()),
        list(PasswordWrap.objects.filter(user=user).values()),
        list(DeviceListVersion.objects.filter(user=user).values_list("seq", flat=True)),
        list(DevWrap.objects.filter(user=user).values()),
        list(RecoveryRequest.objects.filter(user=user).values()),
    )


@pytest.mark.parametrize(
    "who", ["anonymous", "other_client", "other_practice_therapist", "removed_member"]
)
def test_nobody_else_reaches_the_clients_keys(personas: Personas, who: str) -> None:
    ring, request_id = client_with_request(personas)
    before = snapshot(ring)
    caller = api(None if who == "anonymous" else getattr(personas, who).user)
    for name, call in calls(ring, request_id, personas.practice.id).items():
        response = call(caller)
        if who == "anonymous":
            assert response.status_code == 401, name
            continue
        if name == "PUT keys" and who != "removed_member":
            # Their own first upload, of the client's key material: refused, writes nothing.
            assert response.status_code == 400, name
            continue
        if name == "request":
            assert response.status_code == 404, name  # no keys of their own to recover
            continue
        assert response.status_code == 404, (name, response.status_code)
        assert response.json() == NOT_FOUND, name
    assert snapshot(ring) == before
