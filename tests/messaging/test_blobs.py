"""Attachment uploads and downloads (docs/api/messaging.md; crypto-protocol §8): chunked and
resumable, never past the length §8 fixes, only for participants, only ciphertext."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from quietroom.audit.models import AuditEvent, Outcome
from quietroom.core.body_limit import body_limit
from quietroom.core.maintenance import housekeeping
from quietroom.crypto.stream import ciphertext_length
from quietroom.messaging import blobs
from quietroom.messaging.access import conversation_for
from quietroom.messaging.models import Blob, Conversation, ConversationItem, ItemGrant, ItemWrap
from quietroom.practices.models import CareTeamMember
from tests.harness.personas import Persona, Personas
from tests.harness.server import AppServer
from tests.messaging.live import CSRF_SECRET, cookie_header, session_for

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
OCTETS = "application/octet-stream"


def as_persona(persona: Persona | None) -> Client:
    client = Client()
    if persona is not None:
        client.force_login(persona.user)
    return client


def start(client: Client, client_id: uuid.UUID, size: int) -> Any:
    return client.post(
        f"/api/conversations/{client_id}/blobs", {"size": size}, content_type="application/json"
    )


def put(client: Client, blob_id: object, offset: int, data: bytes) -> Any:
    return client.put(f"/api/blobs/{blob_id}?offset={offset}", data, content_type=OCTETS)


def upload(persona: Persona, client_id: uuid.UUID, size: int = 100) -> tuple[uuid.UUID, bytes]:
    """A complete upload of random bytes of the right length; returns (blob_id, bytes)."""
    client = as_persona(persona)
    started = start(client, client_id, size).json()
    data = os.urandom(started["length"])
    assert put(client, started["blob_id"], 0, data).status_code == 200
    return uuid.UUID(started["blob_id"]), data


def attach(blob_id: uuid.UUID, readers: list[Persona], granted: list[Persona] = ()) -> None:  # type: ignore[assignment]
    """Stores a `file` item for the blob, as the item store would (no crypto needed here: the
    download rule looks only at wraps and grants)."""
    blob = Blob.objects.get(pk=blob_id)
    conversation = blob.conversation
    with transaction.atomic():
        found = blobs.blob_for_attach(conversation, blob_id, blob.uploader)
        assert found is not None
        conversation.last_seq += 1
        conversation.save()
        item = ConversationItem.objects.create(
            conversation=conversation,
            seq=conversation.last_seq,
            item_id=uuid.uuid4(),
            type="file",
            author=blob.uploader,
            header="{}",
            blob=found[0],
            sig="x",
            upload_sha256="0" * 64,
            created_at_ms=0,
            received_at=timezone.now(),
        )
        blobs.mark_attached(found[0])
        for persona in readers:
            ItemWrap.objects.create(
                item=item, kind="user", principal_id=persona.user.pk, key_id="k", ct="c"
            )
        ItemWrap.objects.create(
            item=item, kind="prk", principal_id=conversation.practice_id, key_id="k", ct="c"
        )
        for persona in granted:
            ItemGrant.objects.create(item=item, grantee=persona.user, envelope="{}")


def actions() -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in AuditEvent.objects.order_by("seq")]


# --- starting an upload ---------------------------------------------------------------------


def test_start_gives_the_length_section_8_fixes(personas: Personas) -> None:
    client_id = personas.client.membership.pk
    response = start(as_persona(personas.client), client_id, 3 * MIB)
    assert response.status_code == 201
    body = response.json()
    assert body["length"] == ciphertext_length(3 * MIB)
    assert body["chunk_max"] == 8 * MIB
    blob = Blob.objects.get(pk=body["blob_id"])
    assert (blob.size, blob.received, blob.uploader_id) == (3 * MIB, 0, personas.client.user.pk)
    assert blobs.blob_path(blob.id).exists()
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.client_id) == (
        "conversation.blob.started",
        Outcome.ALLOWED,
        client_id,
    )
    # A therapist on the team may attach files too.
    assert start(as_persona(personas.therapist), client_id, 10).status_code == 201


def test_start_over_the_limit_is_too_large(personas: Personas, settings: Any) -> None:
    limit = settings.CONFIG.attachment_max_mib * MIB
    client = as_persona(personas.client)
    over = start(client, personas.client.membership.pk, limit + 1)
    assert over.status_code == 400
    assert over.json()["error"]["code"] == "too_large"
    assert Blob.objects.count() == 0
    assert start(client, personas.client.membership.pk, limit).status_code == 201


@pytest.mark.parametrize(
    "body", [{}, {"size": -1}, {"size": "10"}, {"size": 1.5}, {"size": 1, "x": 1}]
)
def test_start_refuses_bad_input(personas: Personas, body: dict[str, Any]) -> None:
    response = as_persona(personas.client).post(
        f"/api/conversations/{personas.client.membership.pk}/blobs",
        body,
        content_type="application/json",
    )
    assert response.status_code == 400
    assert Blob.objects.count() == 0


@pytest.mark.parametrize(
    "who",
    ["owner", "other_therapist", "other_client", "removed_member", "other_practice_therapist"],
)
def test_start_is_404_for_non_participants(personas: Personas, who: str) -> None:
    persona: Persona = getattr(personas, who)
    response = start(as_persona(persona), personas.client.membership.pk, 10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Blob.objects.count() == 0
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.actor_id, event.client_id) == (
        "conversation.blob.started",
        Outcome.DENIED,
        persona.user.pk,
        personas.client.membership.pk,
    )


def test_start_anonymous_is_401_and_unknown_is_404(personas: Personas) -> None:
    assert start(as_persona(None), personas.client.membership.pk, 10).status_code == 401
    assert start(as_persona(personas.client), uuid.uuid4(), 10).status_code == 404


# --- chunks -----------------------------------------------------------------------------------


def test_chunks_resume_and_complete(personas: Personas) -> None:
    client = as_persona(personas.client)
    started = start(client, personas.client.membership.pk, 1000).json()
    blob_id, length = started["blob_id"], started["length"]
    data = os.urandom(length)
    first = put(client, blob_id, 0, data[:300])
    assert first.status_code == 200
    assert first.json() == {"received": 300, "length": length}
    # The tab closed; a new one asks where to resume.
    progress = client.get(f"/api/blobs/{blob_id}/upload")
    assert progress.json() == {"received": 300, "length": length}
    assert put(client, blob_id, 300, data[300:]).json() == {"received": length, "length": length}
    assert blobs.blob_path(uuid.UUID(blob_id)).read_bytes() == data
    blob = Blob.objects.get(pk=blob_id)
    assert blob.completed_at is not None
    assert actions()[-1] == ("conversation.blob.uploaded", Outcome.ALLOWED)


def test_offset_mismatch_says_where_to_continue(personas: Personas) -> None:
    client = as_persona(personas.client)
    started = start(client, personas.client.membership.pk, 1000).json()
    blob_id = started["blob_id"]
    put(client, blob_id, 0, b"a" * 100)
    for offset in (0, 50, 101):
        response = put(client, blob_id, offset, b"b" * 10)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "offset_mismatch"
        assert response.json()["error"]["received"] == 100
    assert blobs.blob_path(uuid.UUID(blob_id)).read_bytes() == b"a" * 100
    assert Blob.objects.get(pk=blob_id).received == 100


def test_past_the_length_is_refused_and_nothing_kept(personas: Personas) -> None:
    client = as_persona(personas.client)
    started = start(client, personas.client.membership.pk, 10).json()
    blob_id, length = started["blob_id"], started["length"]
    put(client, blob_id, 0, b"a" * 10)
    response = put(client, blob_id, 10, b"b" * length)  # 10 bytes too many
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "past_length"
    assert Blob.objects.get(pk=blob_id).received == 10
    assert blobs.blob_path(uuid.UUID(blob_id)).read_bytes() == b"a" * 10


def test_chunk_over_8_mib_is_refused(personas: Personas) -> None:
    client = as_persona(personas.client)
    started = start(client, personas.client.membership.pk, 9 * MIB).json()
    response = put(client, started["blob_id"], 0, b"x" * (8 * MIB + 1))
    assert response.status_code == 413
    assert Blob.objects.get(pk=started["blob_id"]).received == 0
    assert blobs.blob_path(uuid.UUID(started["blob_id"])).stat().st_size == 0
    exactly = put(client, started["blob_id"], 0, b"x" * (8 * MIB))
    assert exactly.json()["received"] == 8 * MIB


def test_chunk_must_be_octets(personas: Personas) -> None:
    client = as_persona(personas.client)
    started = start(client, personas.client.membership.pk, 10).json()
    response = client.put(
        f"/api/blobs/{started['blob_id']}?offset=0", b"{}", content_type="application/json"
    )
    assert response.status_code == 415
    bad_offset = client.put(f"/api/blobs/{started['blob_id']}?offset=x", b"a", content_type=OCTETS)
    assert bad_offset.status_code == 400
    assert Blob.objects.get(pk=started["blob_id"]).received == 0


def test_request_size_limits_are_per_path(settings: Any) -> None:
    default = settings.MAX_REQUEST_BYTES
    blob = f"/api/blobs/{uuid.uuid4()}"
    items = f"/api/conversations/{uuid.uuid4()}/items"
    assert body_limit("PUT", blob, default) == 8 * MIB + 64 * 1024
    assert body_limit("POST", items, default) == 2 * MIB
    assert body_limit("POST", blob, default) == default
    assert body_limit("PUT", items, default) == default
    assert body_limit("POST", "/api/keys/account", default) == default
    assert body_limit("PUT", blob + "/upload", default) == default


def test_oversized_chunk_is_stopped_before_the_view(personas: Personas) -> None:
    client = as_persona(personas.client)
    started = start(client, personas.client.membership.pk, 10 * MIB).json()
    response = put(client, started["blob_id"], 0, b"x" * (8 * MIB + 64 * 1024 + 1))
    assert response.status_code == 413
    other = client.post(
        "/api/conversations/x/blobs", b"x" * (2 * MIB), content_type="application/json"
    )
    assert other.status_code == 413


@pytest.mark.parametrize(
    "who",
    ["therapist", "owner", "other_client", "removed_member", "other_practice_therapist"],
)
def test_another_users_upload_is_404(personas: Personas, who: str) -> None:
    client = as_persona(personas.client)
    started = start(client, personas.client.membership.pk, 100).json()
    blob_id = started["blob_id"]
    put(client, blob_id, 0, b"a" * 10)
    before = AuditEvent.objects.count()
    intruder = as_persona(getattr(personas, who))
    responses = [
        intruder.get(f"/api/blobs/{blob_id}/upload"),
        put(intruder, blob_id, 10, b"b" * 10),
        intruder.delete(f"/api/blobs/{blob_id}"),
        intruder.get(f"/api/blobs/{blob_id}"),
    ]
    assert [r.status_code for r in responses] == [404] * 4
    unknown = intruder.get(f"/api/blobs/{uuid.uuid4()}/upload")
    assert unknown.content == responses[0].content
    assert Blob.objects.get(pk=blob_id).received == 10
    denied = AuditEvent.objects.filter(seq__gt=before)
    assert denied.count() == 5  # four attempts and the unknown id
    assert {e.outcome for e in denied} == {Outcome.DENIED}
    assert [e.client_id for e in denied.order_by("seq")] == [personas.client.membership.pk] * 4 + [
        None
    ]


def test_anonymous_blob_routes_are_401(personas: Personas) -> None:
    blob_id, _ = upload(personas.client, personas.client.membership.pk)
    anonymous = as_persona(None)
    assert anonymous.get(f"/api/blobs/{blob_id}/upload").status_code == 401
    assert put(anonymous, blob_id, 0, b"a").status_code == 401
    assert anonymous.delete(f"/api/blobs/{blob_id}").status_code == 401
    assert anonymous.get(f"/api/blobs/{blob_id}").status_code == 401


def test_uploader_removed_from_team_cannot_continue(personas: Personas) -> None:
    client = as_persona(personas.therapist)
    started = start(client, personas.client.membership.pk, 100).json()
    personas.therapist.membership.caseload.update(removed_at=timezone.now())
    assert client.get(f"/api/blobs/{started['blob_id']}/upload").status_code == 404
    assert put(client, started["blob_id"], 0, b"a").status_code == 404


def test_abandon_deletes_the_bytes(
    personas: Personas, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    client = as_persona(personas.client)
    started = start(client, personas.client.membership.pk, 100).json()
    put(client, started["blob_id"], 0, b"a" * 50)
    path = blobs.blob_path(uuid.UUID(started["blob_id"]))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/blobs/{started['blob_id']}").status_code == 204
    assert not path.exists()
    assert not Blob.objects.filter(pk=started["blob_id"]).exists()
    assert actions()[-1] == ("conversation.blob.abandoned", Outcome.ALLOWED)
    assert client.delete(f"/api/blobs/{started['blob_id']}").status_code == 404


# --- attaching ------------------------------------------------------------------------------


def test_blob_for_attach_gives_the_hash_the_completing_chunk_took(personas: Personas) -> None:
    client_id = personas.client.membership.pk
    blob_id, data = upload(personas.client, client_id)
    assert Blob.objects.get(pk=blob_id).sha256 == hashlib.sha256(data).hexdigest()
    # The item store takes the hash from the row and does not read the file again while
    # other senders wait: bytes changed on disk behind the server's back do not show.
    blobs.blob_path(blob_id).write_bytes(bytes(len(data)))
    access = conversation_for(personas.client.user, client_id)
    assert access is not None
    with transaction.atomic():
        found = blobs.blob_for_attach(access.conversation, blob_id, personas.client.user)
    assert found is not None
    _, stored = found
    assert stored.sha256 == hashlib.sha256(data).digest()
    assert (stored.length, stored.blob_id, stored.attached) == (len(data), blob_id, False)
    # A blob completed before the hash was taken at completion is hashed from disk once.
    Blob.objects.filter(pk=blob_id).update(sha256="")
    with transaction.atomic():
        found = blobs.blob_for_attach(access.conversation, blob_id, personas.client.user)
    assert found is not None
    assert found[1].sha256 == hashlib.sha256(bytes(len(data))).digest()
    assert Blob.objects.get(pk=blob_id).sha256 == hashlib.sha256(bytes(len(data))).hexdigest()
    # Not the uploader, not complete, another conversation: no blob.
    with transaction.atomic():
        assert blobs.blob_for_attach(access.conversation, blob_id, personas.therapist.user) is None
        other = Conversation.objects.create(
            practice=personas.practice, client=personas.other_client.membership
        )
        assert blobs.blob_for_attach(other, blob_id, personas.client.user) is None
        partial = as_persona(personas.client)
        started = start(partial, client_id, 100).json()
        put(partial, started["blob_id"], 0, b"a")
        assert (
            blobs.blob_for_attach(
                access.conversation, uuid.UUID(started["blob_id"]), personas.client.user
            )
            is None
        )


@pytest.mark.django_db(transaction=True)
def test_a_blob_a_chunk_upload_holds_is_not_waited_for(personas: Personas) -> None:
    """A chunk upload locks its blob row and then audits, so the item store, which holds the
    audit chain lock, must not wait for that row (PostgreSQL would see a deadlock): the blob
    is not attachable until the chunk's transaction ends, and then it is."""
    client_id = personas.client.membership.pk
    blob_id, data = upload(personas.client, client_id)
    access = conversation_for(personas.client.user, client_id)
    assert access is not None
    held, release = threading.Event(), threading.Event()

    def chunk_in_progress() -> None:
        try:
            with transaction.atomic():
                Blob.objects.select_for_update().get(pk=blob_id)
                held.set()
                release.wait(10)
        finally:
            connections["default"].close()

    holder = threading.Thread(target=chunk_in_progress)
    holder.start()
    try:
        assert held.wait(5)
        with transaction.atomic():
            found = blobs.blob_for_attach(access.conversation, blob_id, personas.client.user)
            # The refused lock left the caller's transaction usable.
            assert Blob.objects.filter(pk=blob_id).exists()
        if connection.vendor == "postgresql":  # SQLite has no row locks: one writer at a time
            assert found is None
    finally:
        release.set()
        holder.join()
    with transaction.atomic():
        found = blobs.blob_for_attach(access.conversation, blob_id, personas.client.user)
    assert found is not None
    assert found[1].sha256 == hashlib.sha256(data).digest()


def test_attached_blob_is_frozen(personas: Personas) -> None:
    client_id = personas.client.membership.pk
    blob_id, _ = upload(personas.client, client_id, size=10)
    attach(blob_id, [personas.client, personas.therapist])
    client = as_persona(personas.client)
    assert client.get(f"/api/blobs/{blob_id}/upload").status_code == 404
    assert put(client, blob_id, 0, b"a").status_code == 404
    assert client.delete(f"/api/blobs/{blob_id}").status_code == 404
    assert blobs.blob_path(blob_id).exists()
    with transaction.atomic():
        conversation = Blob.objects.get(pk=blob_id).conversation
        assert blobs.blob_for_attach(conversation, blob_id, personas.client.user) is None


# --- downloads ------------------------------------------------------------------------------


def test_download_streams_the_ciphertext_to_wrap_holders(personas: Personas) -> None:
    client_id = personas.client.membership.pk
    blob_id, data = upload(personas.therapist, client_id, size=5000)
    attach(blob_id, [personas.client, personas.therapist])
    for persona in (personas.client, personas.therapist):
        before = AuditEvent.objects.count()
        response = as_persona(persona).get(f"/api/blobs/{blob_id}")
        assert response.status_code == 200
        assert response["Content-Type"] == OCTETS
        assert response["Content-Length"] == str(len(data))
        assert response["Cache-Control"] == "no-store"
        assert "Content-Disposition" not in response
        assert b"".join(response.streaming_content) == data  # type: ignore[attr-defined]
        event = AuditEvent.objects.get(seq__gt=before)
        assert (event.action, event.outcome, event.actor_id, event.client_id) == (
            "conversation.blob.read",
            Outcome.ALLOWED,
            persona.user.pk,
            client_id,
        )


def test_download_needs_a_wrap_or_grant(personas: Personas) -> None:
    client_id = personas.client.membership.pk
    CareTeamMember.objects.create(
        client=personas.client.membership, therapist=personas.other_therapist.membership
    )
    blob_id, _ = upload(personas.client, client_id)
    attach(blob_id, [personas.client, personas.therapist])
    # A participant who joined later reads it only once granted.
    late = as_persona(personas.other_therapist)
    assert late.get(f"/api/blobs/{blob_id}").status_code == 404
    assert AuditEvent.objects.order_by("-seq").first().outcome == Outcome.DENIED  # type: ignore[union-attr]
    blob_id2, _ = upload(personas.client, client_id)
    attach(blob_id2, [personas.client], granted=[personas.other_therapist])
    assert late.get(f"/api/blobs/{blob_id2}").status_code == 200


@pytest.mark.parametrize(
    "who", ["owner", "other_client", "removed_member", "other_practice_therapist", None]
)
def test_download_is_refused_to_everyone_else(personas: Personas, who: str | None) -> None:
    blob_id, _ = upload(personas.client, personas.client.membership.pk)
    attach(blob_id, [personas.client, personas.therapist])
    persona = getattr(personas, who) if who else None
    response = as_persona(persona).get(f"/api/blobs/{blob_id}")
    assert response.status_code == (404 if persona else 401)
    if persona:
        event = AuditEvent.objects.order_by("-seq").first()
        assert event is not None
        assert (event.action, event.outcome, event.client_id) == (
            "conversation.blob.read",
            Outcome.DENIED,
            personas.client.membership.pk,
        )


def test_unattached_blob_cannot_be_downloaded(personas: Personas) -> None:
    blob_id, _ = upload(personas.client, personas.client.membership.pk)
    assert as_persona(personas.client).get(f"/api/blobs/{blob_id}").status_code == 404


# --- clean-up -------------------------------------------------------------------------------


def test_orphaned_uploads_are_deleted_after_a_day(personas: Personas) -> None:
    client_id = personas.client.membership.pk
    old, _ = upload(personas.client, client_id)
    kept_attached, _ = upload(personas.client, client_id)
    attach(kept_attached, [personas.client])
    fresh, _ = upload(personas.client, client_id)
    Blob.objects.filter(pk__in=[old, kept_attached]).update(
        created_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    assert blobs.delete_orphan_uploads() == 1
    assert set(Blob.objects.values_list("id", flat=True)) == {kept_attached, fresh}
    assert not blobs.blob_path(old).exists()
    assert blobs.blob_path(kept_attached).exists()
    assert blobs.blob_path(fresh).exists()


def test_housekeeping_deletes_orphans(personas: Personas) -> None:
    old, _ = upload(personas.client, personas.client.membership.pk)
    Blob.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(days=2))
    housekeeping()  # what `quietroom serve` and `quietroom audit purge` run
    assert not Blob.objects.filter(pk=old).exists()
    assert not blobs.blob_path(old).exists()


# --- through the real server (uvicorn, the ASGI body limit) ---------------------------------


@pytest.mark.usefixtures("transactional_db")
def test_chunks_through_the_real_server(personas: Personas, app_server: AppServer) -> None:
    session = session_for(personas.client.user)
    http = requests.Session()
    http.headers.update(
        {"Cookie": cookie_header(session), "X-CSRFToken": CSRF_SECRET, "Origin": app_server.url}
    )
    base = app_server.url
    client_id = personas.client.membership.pk
    started = http.post(f"{base}/api/conversations/{client_id}/blobs", json={"size": 9 * MIB})
    assert started.status_code == 201, started.text
    blob_id, length = started.json()["blob_id"], started.json()["length"]
    octets = {"Content-Type": OCTETS}
    chunk = os.urandom(8 * MIB)
    first = http.put(f"{base}/api/blobs/{blob_id}?offset=0", data=chunk, headers=octets)
    assert first.json() == {"received": 8 * MIB, "length": length}

    def streamed(size: int) -> Any:  # no Content-Length: only the ASGI guard can count it
        sent = 0
        while sent < size:
            piece = min(MIB, size - sent)
            sent += piece
            yield b"y" * piece

    too_big = http.put(
        f"{base}/api/blobs/{blob_id}?offset={8 * MIB}",
        data=streamed(8 * MIB + 64 * 1024 + 1),
        headers=octets,
    )
    assert too_big.status_code == 413
    rest = os.urandom(length - 8 * MIB)
    last = http.put(
        f"{base}/api/blobs/{blob_id}?offset={8 * MIB}", data=streamed_bytes(rest), headers=octets
    )
    assert last.json() == {"received": length, "length": length}
    assert blobs.blob_path(uuid.UUID(blob_id)).read_bytes() == chunk + rest
    # An item upload may be up to 2 MiB (refused here for what it is, not for its size).
    item = http.post(
        f"{base}/api/conversations/{client_id}/items",
        data=b"{" + b" " * (int(1.25 * MIB)) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert item.status_code == 400
    elsewhere = http.put(
        f"{base}/api/me/notifications",
        data=b" " * (MIB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert elsewhere.status_code == 413


def streamed_bytes(data: bytes) -> Any:
    for start_at in range(0, len(data), MIB):
        yield data[start_at : start_at + MIB]


def test_the_largest_upload_fits_the_item_checks(settings: Any) -> None:
    largest = settings.CONFIG.attachment_max_mib * MIB
    assert blobs.max_size() == largest
    assert blobs.max_length() == ciphertext_length(largest) > largest


def test_stray_files_without_a_row_are_deleted(personas: Personas) -> None:
    kept, _ = upload(personas.client, personas.client.membership.pk)
    stray = blobs.blob_path(uuid.uuid4())
    stray.write_bytes(b"left over")
    recent = blobs.blob_path(uuid.uuid4())
    recent.write_bytes(b"being made")
    other = stray.parent / "README"
    other.write_text("not a blob")
    day_ago = (timezone.now() - timedelta(days=2)).timestamp()
    for path in (stray, other, blobs.blob_path(kept)):
        os.utime(path, (day_ago, day_ago))
    assert blobs.delete_orphan_uploads() == 1
    assert not stray.exists()
    assert recent.exists()
    assert other.exists()
    assert blobs.blob_path(kept).exists()
    other.unlink()
    recent.unlink()
