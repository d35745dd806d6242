"""Conversations, items, read marks and grants (docs/api/messaging.md). Access is decided by
`quietroom.messaging.access.conversation_for` and every check lives in
`quietroom.messaging.services`; this maps their outcomes onto the JSON error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from uuid import UUID

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from quietroom.accounts.api import signed_in_user
from quietroom.audit.services import Origin
from quietroom.core.errors import error_response
from quietroom.messaging import services, writer
from quietroom.messaging.access import ConversationAccess, conversation_for

router = Router(tags=["messaging"])

# An inline body is at most 1 MiB (1.33 MiB as base64url) plus its header and wraps.
ITEM_UPLOAD_MAX: Final = 1536 * 1024


class ItemsQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    after: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=services.ITEMS_LIMIT_MAX)


class ReadIn(Schema):
    model_config = ConfigDict(extra="forbid")
    seq: int = Field(ge=0)


class GrantsIn(Schema):
    model_config = ConfigDict(extra="forbid")
    grants: list[dict[str, Any]] = Field(min_length=1, max_length=services.GRANTS_MAX)


def _answer(work: Callable[[], Any], status: int = 200) -> HttpResponse:
    try:
        result = work()
    except services.Refused as exc:
        if exc.status == 404:
            return error_response(404)
        return error_response(exc.status, exc.code, exc.message)
    if result is None:
        return HttpResponse(status=204)
    return JsonResponse(result, status=status)


def _access(request: HttpRequest, client_id: UUID, action: str) -> ConversationAccess | None:
    return conversation_for(
        signed_in_user(request), client_id, action=action, origin=Origin.of(request)
    )


@router.get("/conversations")
def list_conversations(request: HttpRequest) -> HttpResponse:
    """The caller's own caseload or conversation: not audited, no item is read."""
    summaries = services.conversation_summaries(signed_in_user(request))
    return JsonResponse({"conversations": summaries})


@router.get("/conversations/{client_id}")
def get_conversation(request: HttpRequest, client_id: UUID) -> HttpResponse:
    access = _access(request, client_id, "conversation.open")
    if access is None:
        return error_response(404)
    return _answer(lambda: services.conversation_info(access, Origin.of(request)))


@router.get("/conversations/{client_id}/items")
def get_items(request: HttpRequest, client_id: UUID, query: Query[ItemsQuery]) -> HttpResponse:
    access = _access(request, client_id, "conversation.items.read")
    if access is None:
        return error_response(404)
    return _answer(
        lambda: services.list_items(access, query.after, query.limit, Origin.of(request))
    )


@router.post("/conversations/{client_id}/items")
def post_item(request: HttpRequest, client_id: UUID) -> HttpResponse:
    """The body is the item upload itself, read as bytes: the checks decode it strictly
    (duplicate keys, floats) and no schema layer may reshape it first."""
    body = request.body
    if len(body) > ITEM_UPLOAD_MAX:
        # The same answer whoever asks, so it says nothing about the conversation.
        return error_response(413, limit=ITEM_UPLOAD_MAX)
    # The access decision, the checks and the store run in the batching writer's transaction
    # (quietroom.messaging.writer); the middleware has applied the staff two-step gate.
    written = writer.write(
        signed_in_user(request), client_id, body, Origin.of(request), second_factor_checked=True
    )
    if written.ack is None:
        if written.status == 404:
            return error_response(404)
        return error_response(written.status, written.code, written.message)
    return JsonResponse(written.ack.as_json(), status=written.status)


@router.post("/conversations/{client_id}/read")
def post_read(request: HttpRequest, client_id: UUID, payload: ReadIn) -> HttpResponse:
    access = _access(request, client_id, "conversation.read")
    if access is None:
        return error_response(404)
    return _answer(lambda: services.mark_read(access, payload.seq))


@router.post("/conversations/{client_id}/grants")
def post_grants(request: HttpRequest, client_id: UUID, payload: GrantsIn) -> HttpResponse:
    access = _access(request, client_id, "conversation.grant.created")
    if access is None:
        return error_response(404)
    origin = Origin.of(request)
    return _answer(
        lambda: {"stored": services.store_grants(access, payload.grants, origin)}, status=201
    )


@router.get("/conversations/{client_id}/grants/needed")
def get_grants_needed(request: HttpRequest, client_id: UUID) -> HttpResponse:
    access = _access(request, client_id, "conversation.grants.needed")
    if access is None:
        return error_response(404)
    return _answer(lambda: {"needed": services.grants_needed(access)})
