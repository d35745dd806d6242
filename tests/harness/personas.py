"""The people every authorisation test is written against.

Practice A: owner, therapist (cares for `client`), other therapist (cares for `other_client`),
client, other client, and a removed team member (a therapist who was on `client`'s care team
and has been removed from it and from the practice). Practice B: its own therapist.
The accounts capability adds their keys and sign-in; `login(client, persona)` signs in the
Django test client until then.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone
from fido2.cose import ES256
from fido2.utils import websafe_encode
from fido2.webauthn import Aaguid, AttestationObject, AttestedCredentialData, AuthenticatorData

from quietroom.accounts.adapters import MFAAdapter
from quietroom.accounts.models import User
from quietroom.practices.models import STAFF_ROLES, CareTeamMember, Membership, Practice, Role

# The TOTP secret every staff persona's authenticator app holds (RFC 4648 base32). Staff need a
# second factor before the API serves them (accounts.mfa_gate), as in production.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - a test fixture


@dataclass(frozen=True)
class Persona:
    key: str
    user: User
    membership: Membership


@dataclass(frozen=True)
class Personas:
    practice: Practice
    other_practice: Practice
    owner: Persona
    therapist: Persona
    other_therapist: Persona
    client: Persona
    other_client: Persona
    removed_member: Persona
    other_practice_therapist: Persona

    def all(self) -> list[Persona]:
        return [
            self.owner, self.therapist, self.other_therapist, self.client, self.other_client,
            self.removed_member, self.other_practice_therapist,
        ]  # fmt: skip


def _persona(key: str, practice: Practice, role: Role) -> Persona:
    user = User.objects.create_user(
        email=f"{key.replace('_', '-')}@personas.quietroom.test",
        display_name=key.replace("_", " ").title(),
    )
    membership = Membership.objects.create(practice=practice, user=user, role=role)
    if role in STAFF_ROLES:
        give_totp(user)
    if role in (Role.OWNER, Role.ADMIN):
        give_passkey(user)
    return Persona(key, user, membership)


def give_totp(user: User, secret: str = STAFF_TOTP_SECRET) -> Authenticator:
    """An enrolled authenticator app, stored as allauth stores one (secret sealed at rest)."""
    return Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": MFAAdapter().encrypt(secret)}
    )


def give_passkey(user: User, name: str = "Test passkey") -> Authenticator:
    """A registered passkey, stored as allauth stores one: the browser's registration response
    (a fresh ES256 key, "none" attestation, for the `localhost` relying party). Owners and admins
    need one for the key-management operations (accounts.mfa_gate); nothing signs with it."""
    credential_id = secrets.token_bytes(16)
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_key = ES256.from_cryptography_key(private_key.public_key())  # type: ignore[no-untyped-call]
    auth_data = AuthenticatorData.create(
        hashlib.sha256(b"localhost").digest(),
        AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV | AuthenticatorData.FLAG.AT,
        0,
        AttestedCredentialData.create(Aaguid.NONE, credential_id, public_key),
    )
    client_data = {
        "type": "webauthn.create",
        "challenge": websafe_encode(secrets.token_bytes(16)),
        "origin": "http://localhost",
    }
    credential: dict[str, Any] = {
        "id": websafe_encode(credential_id),
        "rawId": websafe_encode(credential_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": websafe_encode(json.dumps(client_data).encode()),
            "attestationObject": websafe_encode(
                bytes(AttestationObject.create("none", auth_data, {}))
            ),
        },
        "clientExtensionResults": {"credProps": {"rk": True}},
    }
    return Authenticator.objects.create(
        user=user,
        type=Authenticator.Type.WEBAUTHN,
        data={"name": name, "credential": credential},
    )


def make_personas() -> Personas:
    practice = Practice.objects.create(name="Harbour Lane Therapy")
    other_practice = Practice.objects.create(name="Elsewhere Counselling")
    owner = _persona("owner", practice, Role.OWNER)
    therapist = _persona("therapist", practice, Role.THERAPIST)
    other_therapist = _persona("other_therapist", practice, Role.THERAPIST)
    client = _persona("client", practice, Role.CLIENT)
    other_client = _persona("other_client", practice, Role.CLIENT)
    removed = _persona("removed_member", practice, Role.THERAPIST)
    other_practice_therapist = _persona("other_practice_therapist", other_practice, Role.THERAPIST)

    CareTeamMember.objects.create(client=client.membership, therapist=therapist.membership)
    CareTeamMember.objects.create(
        client=other_client.membership, therapist=other_therapist.membership
    )
    now = timezone.now()
    CareTeamMember.objects.create(
        client=client.membership, therapist=removed.membership, removed_at=now
    )
    Membership.objects.filter(pk=removed.membership.pk).update(removed_at=now)
    removed.membership.refresh_from_db()
    return Personas(
        practice, other_practice, owner, therapist, other_therapist, client, other_client,
        removed, other_practice_therapist,
    )  # fmt: skip
