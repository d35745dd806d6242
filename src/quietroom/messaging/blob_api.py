"""Attachment uploads and downloads (docs/api/messaging.md; crypto-protocol §8).

Only ciphertext passes through here. Uploads are chunked and resumable; a download is allowed to
a participant who still holds a wrap or grant for the item the blob is attached to.
"""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status
from pydantic import ConfigDict, Field

from quietroom.accounts.api import signed_in_user
from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_denied, record_event
from quietroom.core.errors import error_response
from quietroom.messaging import blobs
from quietroom.messaging.access import ConversationAccess, conversation_for
from quietroom.messaging.models import Blob
from quietroom.practices.access import client_for_audit

router = Router(tags=["messaging"])

NOT_FOUND = "Nothing was found here."
DOWNLOAD_BLOCK = 64 * 1024


class StartIn(Schema):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=0, strict=True)


class StartedOut(Schema):
    blob_id: UUID
    length: int
    chunk_max: int


class ProgressOut(Schema):
    received: int
    length: int


def _audit(access: ConversationAccess, action: str, blob: Blob, origin: Origin) -> None:
    record_event(
        action=action,
        actor=access.user,
        actor_role=access.actor.role,
        practice=access.client.practice,
        client=access.client,
        object_type="blob",
        object_id=str(blob.id),
        origin=origin,
    )


def _refuse(user: User, action: str, blob_id: UUID, origin: Origin) -> HttpError:
    """A denied audit row naming the blob's client if it exists; the caller sees only 404."""
    client_id = blobs.blob_conversation_client(blob_id)
    target = client_for_audit(client_id) if client_id else None
    record_denied(
        action=action,
        actor=user,
        practice=target.practice if target else None,
        client=target,
        object_type="blob",
        object_id=str(blob_id),
        origin=origin,
    )
    return HttpError(404, NOT_FOUND)


def _own_upload(
    user: User, blob_id: UUID, action: str, origin: Origin
) -> tuple[Blob, ConversationAccess]:
    """The caller's unattached upload, in a conversation they still take part in."""
    blob = blobs.open_upload(user, blob_id)
    if blob is None:
        raise _refuse(user, action, blob_id, origin)
    access = conversation_for(user, blob.conversation.client_id, action=action, origin=origin)
    if access is None:
        raise HttpError(404, NOT_FOUND)
    return blob, access


@router.post("/conversations/{client_id}/blobs", response={201: StartedOut})
def start_upload(
    request: HttpRequest, client_id: UUID, payload: StartIn
) -> Status[StartedOut] | HttpResponse:
    user = signed_in_user(request)
    origin = Origin.of(request)
    action = "conversation.blob.started"
    access = conversation_for(user, client_id, action=action, origin=origin)
    if access is None:
        raise HttpError(404, NOT_FOUND)
    if payload.size > blobs.max_size():
        return error_response(
            400,
            "too_large",
            "The attachment is larger than this server accepts.",
            max_bytes=blobs.max_size(),
        )
    with transaction.atomic():
        blob = blobs.start_upload(access.conversation, user, payload.size)
        _audit(access, action, blob, origin)
    return Status(201, StartedOut(blob_id=blob.id, length=blob.length, chunk_max=blobs.CHUNK_MAX))


@router.get("/blobs/{blob_id}/upload", response=ProgressOut)
def upload_progress(request: HttpRequest, blob_id: UUID) -> ProgressOut:
    user = signed_in_user(request)
    blob, _ = _own_upload(user, blob_id, "conversation.blob.upload", Origin.of(request))
    return ProgressOut(received=blob.received, length=blob.length)


@router.put("/blobs/{blob_id}", response=ProgressOut)
def put_chunk(request: HttpRequest, blob_id: UUID, offset: int) -> ProgressOut | HttpResponse:
    user = signed_in_user(request)
    origin = Origin.of(request)
    blob, access = _own_upload(user, blob_id, "conversation.blob.upload", origin)
    if request.content_type != "application/octet-stream":
        return error_response(415, message="Send the chunk as application/octet-stream.")

    def completed(done: Blob) -> None:
        _audit(access, "conversation.blob.uploaded", done, origin)

    try:
        # request.read streams the (already spooled) body: no whole-chunk copy in memory.
        blob = blobs.append_chunk(blob, offset, request.read, completed)
    except blobs.ChunkError as refused:
        return error_response(refused.status, refused.code, refused.message, **refused.extra)
    return ProgressOut(received=blob.received, length=blob.length)


@router.delete("/blobs/{blob_id}", response={204: None})
def abandon_upload(request: HttpRequest, blob_id: UUID) -> Status[None]:
    user = signed_in_user(request)
    origin = Origin.of(request)
    action = "conversation.blob.abandoned"
    blob, access = _own_upload(user, blob_id, action, origin)
    with transaction.atomic():
        blobs.abandon(blob)
        _audit(access, action, blob, origin)
    return Status(204, None)


@router.get("/blobs/{blob_id}")
def download(request: HttpRequest, blob_id: UUID) -> HttpResponseBase:
    user = signed_in_user(request)
    origin = Origin.of(request)
    action = "conversation.blob.read"
    client_id = blobs.blob_conversation_client(blob_id)
    if client_id is None:
        raise _refuse(user, action, blob_id, origin)
    access = conversation_for(user, client_id, action=action, origin=origin)
    if access is None:
        raise HttpError(404, NOT_FOUND)
    with transaction.atomic():  # the read and its audit row are one unit (AUD-04)
        blob = blobs.readable_blob(user, blob_id)
        if blob is not None:
            try:
                source = blobs.blob_path(blob.id).open("rb")
            except FileNotFoundError:
                blob = None
        if blob is not None:
            _audit(access, action, blob, origin)
    if blob is None:
        raise _refuse(user, action, blob_id, origin)
    response = FileResponse(source, content_type="application/octet-stream")
    response.block_size = DOWNLOAD_BLOCK
    response["Content-Length"] = str(blob.length)
    response["Cache-Control"] = "no-store"
    if "Content-Disposition" in response:
        del response["Content-Disposition"]  # the file's name is inside the ciphertext only
    return response
