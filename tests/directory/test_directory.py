"""The key directory (crypto-protocol §6.2 to §6.4, docs/api/keys.md "Directory"): who may read
which entries, the pending-certificate list, and every issuer rule of certificate and revocation
uploads, each checked with the protocol core, with nothing written on a refusal."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from quietroom.audit.models import AuditEvent, Outcome
from quietroom.crypto import envelope, practice
from quietroom.crypto.encoding import b64url_encode
from quietroom.crypto.keys import random_bytes
from quietroom.directory import services
from quietroom.directory.models import MemberCertificate, MemberRevocationRecord, PrskWrap
from quietroom.practices.models import CareTeamMember, Membership
from tests.directory.world import (
    KeyedMember,
    World,
    cert_json,
    give_keys,
    keyed_world,
    make_cert,
    new_account_keys,
    now_ms,
    store_cert,
)
from tests.harness.personas import Persona, Personas

pytestmark = pytest.mark.django_db

Json = dict[str, Any]
NOT_FOUND = {"error": {"code": "not_found", "message": "Nothing was found here."}}


@pytest.fixture
def world(personas: Personas) -> World:
    return keyed_world(personas)


def as_persona(persona: Persona | None) -> Client:
    client = Client()
    if persona is not None:
        client.force_login(persona.user)
    return client


def post(persona: Persona | None, path: str, body: Json) -> Any:
    return as_persona(persona).post(path, json.dumps(body), content_type="application/json")


def url(personas: Personas, rest: str) -> str:
    return f"/api/practices/{personas.practice.id}/{rest}"


def writes() -> tuple[int, int, int, int]:
    return (
        MemberCertificate.objects.count(),
        MemberRevocationRecord.objects.count(),
        PrskWrap.objects.count(),
        AuditEvent.objects.count(),
    )


def upload(persona: Persona, personas: Personas, body: Json) -> Any:
    return post(persona, url(personas, "certificates"), body)


def refused(
    persona: Persona, personas: Personas, body: Json, status: int, crypto: str | None = None,
    *, path: str = "certificates",
) -> Json:  # fmt: skip
    before = writes()
    response = post(persona, url(personas, path), body)
    assert response.status_code == status, response.content
    assert writes() == before
    answer: Json = response.json()
    if status == 404:
        assert answer == NOT_FOUND
    if crypto is not None:
        assert answer["error"]["crypto"] == crypto
    return answer


def rotate(world: World, key: str) -> tuple[KeyedMember, KeyedMember]:
    """New account keys for a member (as after a recovery): the old AIK's cert stays."""
    old = world.member(key)
    new = give_keys(world, old.membership, new_account_keys(), ver=2)
    world.members[key] = new
    return old, new


def revocation_json(
    world: World, member: KeyedMember, signer: Any = None, reason: str = "recovered"
) -> Json:
    rev = practice.revoke(
        signer or world.prsk,
        practice_id=world.practice.id,
        user_id=member.user.id,
        aik_id=member.keys.aik_id,
        revoked_at=now_ms(),
        reason=reason,
    )
    return envelope.encode_revocation(rev)


# -- directory reads ------------------------------------------------------------------------------

VISIBLE = {
    "owner": {
        "owner", "therapist", "other_therapist", "client", "other_client", "removed_member",
    },
    "therapist": {"owner", "therapist", "other_therapist", "removed_member", "client"},
    "other_therapist": {"owner", "therapist", "other_therapist", "removed_member", "other_client"},
    # A client's former care team stays readable, so what they wrote stays verifiable.
    "client": {"client", "owner", "therapist", "removed_member"},
    "other_client": {"other_client", "owner", "other_therapist"},
}  # fmt: skip


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_directory_visibility(world: World, personas: Personas, who: str) -> None:
    persona: Persona = getattr(personas, who)
    response = as_persona(persona).get(url(personas, "directory"))
    assert response.status_code == 200, response.content
    by_id = {str(getattr(personas, k).user.id): k for k in VISIBLE["owner"]}
    entries = response.json()["entries"]
    assert {by_id[e["user_id"]] for e in entries} == VISIBLE[who]
    for entry in entries:
        member = world.member(by_id[entry["user_id"]])
        assert entry["aik_pub"] == member.aik_pub
        assert entry["removed"] == (by_id[entry["user_id"]] == "removed_member")
        assert [c["aik_pub"] for c in entry["certs"]] == [member.aik_pub]
        assert len(entry["aek_binds"]) == len(entry["device_lists"]) == 1


@pytest.mark.parametrize("who", ["removed_member", "other_practice_therapist"])
def test_directory_refused_to_outsiders(world: World, personas: Personas, who: str) -> None:
    persona: Persona = getattr(personas, who)
    for path in ("directory", "configs", "pending-certificates"):
        response = as_persona(persona).get(url(personas, path))
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path


def test_anonymous_gets_401(world: World, personas: Personas) -> None:
    for path in ("directory", "configs", "pending-certificates"):
        assert as_persona(None).get(url(personas, path)).status_code == 401
    for path in ("certificates", "revocations"):
        assert post(None, url(personas, path), {}).status_code == 401
    assert MemberCertificate.objects.count() == len(world.members)


def test_asking_for_someone_not_visible_answers_nothing(world: World, personas: Personas) -> None:
    therapist = as_persona(personas.therapist)
    visible = str(personas.client.user.id)
    hidden = str(personas.other_client.user.id)
    base = url(personas, "directory")
    assert therapist.get(base, {"user": [visible]}).status_code == 200
    not_theirs = therapist.get(base, {"user": [visible, hidden]})
    unknown = therapist.get(base, {"user": [str(uuid.uuid4())]})
    assert not_theirs.status_code == unknown.status_code == 404
    assert not_theirs.content == unknown.content
    denied = AuditEvent.objects.filter(action="directory.read", outcome=Outcome.DENIED)
    assert denied.count() == 2


def test_reading_a_client_is_audited_and_names_the_client(world: World, personas: Personas) -> None:
    AuditEvent.objects.all().delete()
    therapist = as_persona(personas.therapist)
    answer = therapist.get(url(personas, "directory"), {"user": [str(personas.client.user.id)]})
    assert answer.status_code == 200
    events = list(AuditEvent.objects.all())
    assert [(e.action, e.outcome, e.client_id) for e in events] == [
        ("directory.read", Outcome.ALLOWED, personas.client.membership.pk)
    ]
    # The client's cert was issued by the therapist: the issuer's own cert comes along.
    issuers = answer.json()["issuers"]
    assert [i["aik_pub"] for i in issuers] == [world.member("therapist").aik_pub]
    # Reading only oneself is not someone else's data: no event.
    AuditEvent.objects.all().delete()
    own = therapist.get(url(personas, "directory"), {"user": [str(personas.therapist.user.id)]})
    assert own.status_code == 200
    assert AuditEvent.objects.count() == 0


def test_configs_oldest_first(world: World, personas: Personas) -> None:
    response = as_persona(personas.client).get(url(personas, "configs"))
    assert response.status_code == 200
    assert response.json() == {"configs": [envelope.encode_config(world.config)]}


def test_crypto_directory_and_has_valid_cert(world: World, personas: Personas) -> None:
    directory = services.crypto_directory(personas.practice)
    assert directory.prsk_pub == world.keys.prsk_pub
    for key in ("owner", "therapist", "client"):
        member = world.member(key)
        directory.certified_aik(member.user.id, member.keys.aik_id, at=now_ms())
        assert services.has_valid_cert(member.user, personas.practice)
    rotate(world, "client")
    assert not services.has_valid_cert(personas.client.user, personas.practice)
    assert services.current_config(personas.practice) is not None


# -- pending certificates ----------------------------------------------------------------------


def test_pending_lists_members_without_a_valid_cert(world: World, personas: Personas) -> None:
    old, new = rotate(world, "client")
    rotate(world, "other_client")
    rotate(world, "other_therapist")
    # A member with keys and never a certificate is "enrolled".
    MemberCertificate.objects.filter(user=personas.therapist.user).delete()

    def pending(persona: Persona) -> dict[str, Json]:
        response = as_persona(persona).get(url(personas, "pending-certificates"))
        assert response.status_code == 200, response.content
        return {p["user_id"]: p for p in response.json()["pending"]}

    everyone = pending(personas.owner)
    assert set(everyone) == {
        str(getattr(personas, k).user.id)
        for k in ("client", "other_client", "other_therapist", "therapist")
    }
    client = everyone[str(personas.client.user.id)]
    assert (client["reason"], client["previous_aik_id"]) == ("recovered", old.aik_id)
    assert (client["aik_pub"], client["role"]) == (new.aik_pub, "client")
    therapist = everyone[str(personas.therapist.user.id)]
    assert (therapist["reason"], therapist["previous_aik_id"]) == ("enrolled", None)
    # A therapist sees only the clients on their care team.
    assert set(pending(personas.other_therapist)) == {str(personas.other_client.user.id)}
    for who in (personas.client, personas.removed_member, personas.other_practice_therapist):
        response = as_persona(who).get(url(personas, "pending-certificates"))
        assert response.status_code == 404


# -- certificates: issuer rules ------------------------------------------------------------------


def test_owner_certifies_a_recovered_member_and_revokes_the_old_key(
    world: World, personas: Personas
) -> None:
    old, new = rotate(world, "therapist")
    AuditEvent.objects.all().delete()
    body = {
        "cert": cert_json(world, "therapist", reason="recovered"),
        "revocation": revocation_json(world, old),
        "prsk_wrap": None,
    }
    response = upload(personas.owner, personas, body)
    assert response.status_code == 201, response.content
    assert response.json() == {"user_id": str(personas.therapist.user.id), "aik_id": new.aik_id}
    assert services.has_valid_cert(personas.therapist.user, personas.practice)
    stored = MemberCertificate.objects.filter(user=personas.therapist.user).order_by("id")
    assert json.loads(stored.last().envelope) == body["cert"]  # type: ignore[union-attr]
    assert MemberRevocationRecord.objects.get().aik_id == old.aik_id
    assert [e.action for e in AuditEvent.objects.order_by("seq")] == [
        "cert.issued",
        "cert.revoked",
    ]
    pending = as_persona(personas.owner).get(url(personas, "pending-certificates")).json()
    assert pending == {"pending": []}


def test_therapist_certifies_their_own_client(world: World, personas: Personas) -> None:
    rotate(world, "client")
    therapist = world.member("therapist")
    body = {"cert": cert_json(world, "client", issuer=therapist, reason="recovered")}
    assert upload(personas.therapist, personas, body).status_code == 201
    assert services.has_valid_cert(personas.client.user, personas.practice)
    event = AuditEvent.objects.filter(action="cert.issued").get()
    assert event.client_id == personas.client.membership.pk


def test_therapist_may_not_certify_someone_elses_client(world: World, personas: Personas) -> None:
    rotate(world, "other_client")
    therapist = world.member("therapist")
    body = {"cert": cert_json(world, "other_client", issuer=therapist, reason="recovered")}
    refused(personas.therapist, personas, body, 404)


def test_therapist_may_not_upload_prsk_certificates(world: World, personas: Personas) -> None:
    rotate(world, "client")
    body = {"cert": cert_json(world, "client", reason="recovered")}
    refused(personas.therapist, personas, body, 404)
    rotate(world, "other_therapist")
    refused(personas.therapist, personas, {"cert": cert_json(world, "other_therapist")}, 404)


def test_member_cert_must_be_under_the_uploaders_own_certified_aik(
    world: World, personas: Personas
) -> None:
    rotate(world, "client")
    # Signed by another therapist's AIK, uploaded by the client's therapist.
    other = world.member("other_therapist")
    body = {"cert": cert_json(world, "client", issuer=other, reason="recovered")}
    refused(personas.therapist, personas, body, 404)
    # Signed by the therapist's AIK before it was certified (no PRSK cert for that AIK).
    MemberCertificate.objects.filter(user=personas.therapist.user).delete()
    body = {"cert": cert_json(world, "client", issuer=world.member("therapist"))}
    refused(personas.therapist, personas, body, 404)


def test_a_revoked_therapist_key_cannot_certify_with_a_backdated_cert(
    world: World, personas: Personas
) -> None:
    therapist = world.member("therapist")
    # After the therapist's own certificate starts, before its revocation below.
    issued = MemberCertificate.objects.get(user=personas.therapist.user).valid_from
    backdated = issued + 1
    body = {"revocation": revocation_json(world, therapist, reason="compromised")}
    assert post(personas.owner, url(personas, "revocations"), body).status_code == 201
    rotate(world, "client")
    cert = cert_json(world, "client", issuer=therapist, reason="recovered", valid_from=backdated)
    refused(personas.therapist, personas, {"cert": cert}, 400, "E_CERT")


def test_owner_may_not_upload_a_member_issued_certificate(world: World, personas: Personas) -> None:
    rotate(world, "client")
    owner = world.member("owner")
    body = {"cert": cert_json(world, "client", issuer=owner, reason="recovered")}
    refused(personas.owner, personas, body, 404)


@pytest.mark.parametrize(
    "who", ["client", "other_client", "other_practice_therapist", "removed_member"]
)
def test_non_issuers_are_refused(world: World, personas: Personas, who: str) -> None:
    rotate(world, "therapist")
    body = {"cert": cert_json(world, "therapist", reason="recovered")}
    refused(getattr(personas, who), personas, body, 404)
    body = {"revocation": revocation_json(world, world.member("client"))}
    refused(getattr(personas, who), personas, body, 404, path="revocations")


def test_removed_members_can_do_nothing(world: World, personas: Personas) -> None:
    # Even an owner who was removed.
    rotate(world, "therapist")
    Membership.objects.filter(pk=personas.owner.membership.pk).update(removed_at=timezone.now())
    body = {"cert": cert_json(world, "therapist", reason="recovered")}
    refused(personas.owner, personas, body, 404)
    body = {"revocation": revocation_json(world, world.member("client"))}
    refused(personas.owner, personas, body, 404, path="revocations")


def test_no_certificate_for_a_removed_member(world: World, personas: Personas) -> None:
    rotate(world, "removed_member")
    body = {"cert": cert_json(world, "removed_member", reason="recovered")}
    refused(personas.owner, personas, body, 404)


def test_cert_must_name_the_current_aik(world: World, personas: Personas) -> None:
    old, _ = rotate(world, "therapist")
    stale = make_cert(world, old, reason="recovered")
    body = {"cert": envelope.encode_cert(stale)}
    refused(personas.owner, personas, body, 400, "E_CERT")


def test_cert_must_name_the_members_role(world: World, personas: Personas) -> None:
    rotate(world, "therapist")
    body = {"cert": cert_json(world, "therapist", role="admin", reason="recovered")}
    refused(personas.owner, personas, body, 400, "E_CERT")


def test_bad_signature_is_refused(world: World, personas: Personas) -> None:
    rotate(world, "therapist")
    cert = cert_json(world, "therapist", reason="recovered")
    cert["sig"] = b64url_encode(bytes(64))
    refused(personas.owner, personas, {"cert": cert}, 400, "E_CERT")
    stranger = practice.PracticeKeys.generate(personas.practice.id)
    forged = practice.issue_cert(
        stranger.prsk, issuer_kind="prsk", practice_id=personas.practice.id,
        user_id=personas.therapist.user.id, role="therapist",
        aik_pub=world.member("therapist").keys.aik_pub, valid_from=now_ms(), reason="recovered",
    )  # fmt: skip
    refused(personas.owner, personas, {"cert": envelope.encode_cert(forged)}, 400, "E_CERT")


def test_malformed_envelopes_are_refused(world: World, personas: Personas) -> None:
    rotate(world, "therapist")
    cert = cert_json(world, "therapist", reason="recovered")
    cert["extra"] = 1
    refused(personas.owner, personas, {"cert": cert}, 400, "E_SCHEMA")
    cert = cert_json(world, "therapist", reason="recovered")
    cert["suite"] = "qr9"
    refused(personas.owner, personas, {"cert": cert}, 400, "E_SUITE")


def test_duplicate_is_refused(world: World, personas: Personas) -> None:
    body = {"cert": cert_json(world, "therapist")}
    refused(personas.owner, personas, body, 409)


def test_cert_for_another_practice(world: World, personas: Personas) -> None:
    rotate(world, "therapist")
    cert = cert_json(world, "therapist", reason="recovered")
    response = post(
        personas.owner,
        f"/api/practices/{personas.other_practice.id}/certificates",
        {"cert": cert},
    )
    assert response.status_code == 404


def test_prsk_wrap_goes_with_owner_and_admin_certs_only(world: World, personas: Personas) -> None:
    rotate(world, "therapist")
    wrap = b64url_encode(random_bytes(120))
    body = {"cert": cert_json(world, "therapist", reason="recovered"), "prsk_wrap": wrap}
    refused(personas.owner, personas, body, 400)
    _, new_owner = rotate(world, "owner")
    sealed = practice.seal_prsk_wrap(
        new_owner.keys.aek_pub,
        world.prsk,
        practice_id=personas.practice.id,
        admin_user_id=personas.owner.user.id,
    )
    body = {"cert": cert_json(world, "owner", reason="rotated"), "prsk_wrap": b64url_encode(sealed)}
    assert upload(personas.owner, personas, body).status_code == 201
    stored = PrskWrap.objects.get(user=personas.owner.user)
    assert (stored.ct, stored.aek_id) == (body["prsk_wrap"], b64url_encode(new_owner.keys.aek_id))
    assert AuditEvent.objects.filter(action="prsk_wrap.created").count() == 1


def test_a_bad_revocation_undoes_the_certificate(world: World, personas: Personas) -> None:
    old, _ = rotate(world, "therapist")
    forged = revocation_json(world, old, signer=new_account_keys().aik)
    body = {"cert": cert_json(world, "therapist", reason="recovered"), "revocation": forged}
    refused(personas.owner, personas, body, 400, "E_CERT")


# -- revocations ---------------------------------------------------------------------------------


def test_owner_revokes_with_the_prsk(world: World, personas: Personas) -> None:
    therapist = world.member("therapist")
    body = {"revocation": revocation_json(world, therapist, reason="left the practice")}
    response = post(personas.owner, url(personas, "revocations"), body)
    assert response.status_code == 201, response.content
    assert response.json() == {"user_id": str(therapist.user.id), "aik_id": therapist.aik_id}
    assert not services.has_valid_cert(therapist.user, personas.practice)
    assert AuditEvent.objects.filter(action="cert.revoked").count() == 1
    refused(personas.owner, personas, body, 409, path="revocations")


def test_issuing_therapist_revokes_their_clients_cert(world: World, personas: Personas) -> None:
    client = world.member("client")
    body = {"revocation": revocation_json(world, client, signer=world.member("therapist").keys.aik)}
    response = post(personas.therapist, url(personas, "revocations"), body)
    assert response.status_code == 201, response.content
    assert not services.has_valid_cert(client.user, personas.practice)


def test_revocation_refusals(world: World, personas: Personas) -> None:
    other_client = world.member("other_client")
    signer = world.member("therapist").keys.aik
    # Not the issuer of that client's certificate.
    body = {"revocation": revocation_json(world, other_client, signer=signer)}
    refused(personas.therapist, personas, body, 404, path="revocations")
    # Therapists cannot revoke staff, clients cannot revoke anyone.
    body = {"revocation": revocation_json(world, world.member("other_therapist"))}
    refused(personas.therapist, personas, body, 404, path="revocations")
    refused(personas.client, personas, body, 404, path="revocations")
    # Signed by neither the PRSK nor the certificate's issuer.
    body = {"revocation": revocation_json(world, other_client, signer=new_account_keys().aik)}
    refused(personas.owner, personas, body, 400, "E_CERT", path="revocations")
    # An unknown person.
    ghost = practice.revoke(
        world.prsk, practice_id=personas.practice.id, user_id=uuid.uuid4(),
        aik_id=bytes(16), revoked_at=now_ms(), reason="x",
    )  # fmt: skip
    body = {"revocation": envelope.encode_revocation(ghost)}
    refused(personas.owner, personas, body, 404, path="revocations")


def test_care_team_change_takes_certifying_away(world: World, personas: Personas) -> None:
    rotate(world, "client")
    CareTeamMember.objects.filter(therapist=personas.therapist.membership).update(
        removed_at=timezone.now()
    )
    body = {
        "cert": cert_json(world, "client", issuer=world.member("therapist"), reason="recovered")
    }
    refused(personas.therapist, personas, body, 404)


def test_store_cert_helper_matches_the_api(world: World, personas: Personas) -> None:
    # The helper's rows are what the API would have stored: the crypto directory accepts them.
    member = world.member("other_client")
    row = store_cert(world, member, make_cert(world, member, role="client", reason="role-change"))
    assert row.issuer_kind == "prsk"
    assert services.has_valid_cert(member.user, personas.practice)
