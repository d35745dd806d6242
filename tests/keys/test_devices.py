"""The signed device list and remembered devices (crypto-protocol §5.2 to §5.4): every new list
is the checked successor under the current AIK; revoking a device deletes its dev_wrap in the
same transaction; nothing is stored for a refused list."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from quietroom.audit.models import AuditEvent
from quietroom.crypto import devices, envelope
from quietroom.crypto.encoding import sha256
from quietroom.keys.models import DeviceListVersion, DevWrap
from tests.harness.personas import Personas
from tests.keys.world import (
    Device,
    Keyring,
    api,
    install_config,
    keyring,
    now_ms,
    post_json,
    put_json,
    upload_keys,
)

pytestmark = pytest.mark.django_db


def keyed(personas: Personas) -> tuple[Keyring, Client]:
    keys = install_config(personas.practice)
    ring = keyring(personas.client.user, personas.practice, keys)
    client = api(ring.user)
    assert upload_keys(client, ring).status_code == 201
    AuditEvent.objects.all().delete()
    return ring, client


def publish(client: Client, device_list: devices.DeviceList, dev_wrap: object = None) -> Any:
    body = {"device_list": envelope.encode_device_list(device_list), "dev_wrap": dev_wrap}
    return post_json(client, "/api/keys/devices", body)


def test_add_then_revoke_a_device(personas: Personas) -> None:
    ring, client = keyed(personas)
    laptop = Device.new()
    ring.devices.append(laptop)
    second = ring.next_list()
    wrap = {"device_id": str(laptop.device_id), "ct": ring.dev_wrap(laptop)}
    response = publish(client, second, wrap)
    assert response.status_code == 201, response.json()
    ring.lists.append(second)
    assert [e.action for e in AuditEvent.objects.order_by("seq")] == [
        "device.added", "device.remembered"
    ]  # fmt: skip
    assert DevWrap.objects.filter(user=ring.user, device_id=laptop.device_id).exists()

    ring.revoked[laptop.device_id] = now_ms()
    third = ring.next_list()
    assert publish(client, third).status_code == 201
    ring.lists.append(third)
    assert not DevWrap.objects.filter(user=ring.user, device_id=laptop.device_id).exists()
    assert AuditEvent.objects.order_by("-seq").values_list("action", flat=True)[0] == (
        "device.revoked"
    )
    lists = client.get("/api/keys/devices").json()["lists"]
    assert [entry["seq"] for entry in lists] == [1, 2, 3]
    assert lists[-1] == envelope.encode_device_list(third)
    # A revoked device can no longer be remembered.
    put = put_json(
        client, f"/api/keys/devices/{laptop.device_id}/dev-wrap", {"ct": ring.dev_wrap(laptop)}
    )
    assert put.status_code == 404


def test_refused_lists_store_nothing(personas: Personas) -> None:
    ring, client = keyed(personas)
    first = ring.lists[-1]
    entries = [d.entry() for d in ring.devices]

    def signed(
        seq: int, prev_hash: bytes, entries: list[devices.DeviceEntry]
    ) -> devices.DeviceList:
        return devices.sign_device_list(
            ring.keys.aik, user_id=ring.user.id, seq=seq, prev_hash=prev_hash,
            created_at=now_ms(), entries=entries,
        )  # fmt: skip

    cases = {
        "replay of seq 1": (ring.lists[-1], "E_CHAIN"),
        "seq jumps": (signed(3, sha256(first.message()), entries), "E_CHAIN"),
        "wrong prev_hash": (signed(2, bytes(32), entries), "E_CHAIN"),
        "entry removed": (signed(2, sha256(first.message()), []), "E_CHAIN"),
    }
    other = keyring(ring.user, personas.practice, install_config(personas.other_practice))
    other.devices = ring.devices[:]
    other.lists = ring.lists[:]
    cases["other AIK"] = (other.next_list(), "E_SIG")
    for name, (device_list, code) in cases.items():
        response = publish(client, device_list)
        assert response.status_code == 400, name
        assert response.json()["error"]["crypto"] == code, name
    assert DeviceListVersion.objects.filter(user=ring.user).count() == 1
    assert not AuditEvent.objects.exists()


def test_unrevoking_is_refused(personas: Personas) -> None:
    ring, client = keyed(personas)
    spare = Device.new()
    ring.devices.append(spare)
    ring.revoked[spare.device_id] = now_ms()
    second = ring.next_list()
    assert publish(client, second).status_code == 201
    ring.lists.append(second)
    del ring.revoked[spare.device_id]
    response = publish(client, ring.next_list())
    assert response.json()["error"]["crypto"] == "E_CHAIN"


def test_remember_and_forget(personas: Personas) -> None:
    ring, client = keyed(personas)
    device = ring.devices[0]
    path = f"/api/keys/devices/{device.device_id}/dev-wrap"
    DevWrap.objects.all().delete()
    assert put_json(client, path, {"ct": ring.dev_wrap(device)}).status_code == 204
    assert client.get("/api/keys/account", {"device_id": str(device.device_id)}).json()["dev_wrap"]
    assert put_json(client, path, {"ct": "c2hvcnQ"}).status_code == 400  # not 80 bytes
    assert client.delete(path).status_code == 204
    assert client.delete(path).status_code == 204  # also when none
    assert not DevWrap.objects.exists()
    actions = [e.action for e in AuditEvent.objects.order_by("seq")]
    assert actions == ["device.remembered", "device.forgotten", "device.forgotten"]


def test_other_people_cannot_touch_the_devices(personas: Personas) -> None:
    ring, _ = keyed(personas)
    device = ring.devices[0]
    path = f"/api/keys/devices/{device.device_id}/dev-wrap"
    for persona in (personas.other_client, personas.therapist, personas.removed_member,
                    personas.other_practice_therapist):  # fmt: skip
        other = api(persona.user)
        assert put_json(other, path, {"ct": ring.dev_wrap(device)}).status_code == 404
        assert other.get("/api/keys/devices").json() == {"lists": []}
        assert publish(other, ring.next_list()).status_code == 404
    assert api(None).get("/api/keys/devices").status_code == 401
    assert DevWrap.objects.filter(user=ring.user).count() == 1
