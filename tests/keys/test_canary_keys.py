"""After a real key upload, a password change's re-wrap and a remembered device, nothing the
server keeps holds a secret: not the password, the UK, the KEK or any private key (ENC-01)."""

from __future__ import annotations

import secrets

import pytest

from quietroom.crypto.account import AccountKeys as CryptoKeys
from quietroom.crypto.keys import ed25519_from_seed, x25519_from_seed
from quietroom.crypto.password import derive_password_keys
from tests.conftest import CanaryScanner
from tests.harness.personas import Personas
from tests.keys.world import api, install_config, keyring, post_json, upload_keys

pytestmark = pytest.mark.django_db(transaction=True)  # committed, so the scan sees it


def canary_bytes() -> bytes:
    """32 bytes that are also a findable text: a canary used as key material."""
    return f"canary-{secrets.token_hex(12)}-x".encode("ascii")[:32]


def test_no_secret_reaches_the_server(personas: Personas, canary_scanner: CanaryScanner) -> None:
    keys = install_config(personas.practice)
    ring = keyring(personas.client.user, personas.practice, keys)
    ring.uk = canary_bytes()
    aik_seed, aek_seed = canary_bytes(), canary_bytes()
    ring.keys = CryptoKeys(aik=ed25519_from_seed(aik_seed), aek=x25519_from_seed(aek_seed))
    password = f"canary-password-{secrets.token_hex(6)}"
    derived = derive_password_keys(password, ring.salt(), ring.kdf())
    ring.kek = derived.kek
    client = api(ring.user)
    assert upload_keys(client, ring).status_code == 201
    kdf = ring.kdf()
    body = {"ver": 2, "kdf": {"alg": "argon2id", "m": kdf.m, "t": kdf.t, "p": kdf.p},
            "ct": ring.pw_wrap(2)}  # fmt: skip
    assert post_json(client, "/api/keys/pw-wrap/pending", body).status_code == 201

    for secret in (ring.uk, aik_seed, aek_seed):
        assert canary_scanner.hits(secret.decode("ascii")) == [], secret
    assert canary_scanner.hits(password) == []
    # The scan does see what was stored: the public AIK is in the database.
    assert canary_scanner.hits(ring.bundle()["aik_pub"])
