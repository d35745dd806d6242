"""Review of the audit trail: staff search and export, and each client's own access history.
Reading the trail is itself recorded."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Literal
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import AwareDatetime, ConfigDict, Field

from quietroom.accounts.api import signed_in_user
from quietroom.accounts.models import User
from quietroom.accounts.reauth import require_recent_auth
from quietroom.audit import selectors
from quietroom.audit.models import AuditEvent
from quietroom.audit.services import Origin, record_event
from quietroom.practices.models import STAFF_ROLES, Membership, Practice

router = Router(tags=["audit"])


class EventQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    actor: UUID | None = None
    client: UUID | None = None
    action: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9_.]+$")
    outcome: Literal["allowed", "denied", "failed"] | None = None
    # A time without a zone is ambiguous, so it is refused rather than guessed.
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    before: int | None = Field(default=None, ge=1)
    limit: int = Field(default=50, ge=1, le=selectors.MAX_PAGE)

    def event_filter(self) -> selectors.EventFilter:
        return selectors.EventFilter(
            actor=self.actor,
            client=self.client,
            action=self.action,
            outcome=self.outcome,
            since=self.since,
            until=self.until,
        )


class EventOut(Schema):
    seq: int
    at: datetime
    actor_id: UUID | None
    actor_name: str
    actor_role: str
    device_id: UUID | None
    practice_id: UUID | None
    client_id: UUID | None
    client_name: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    address: str
    user_agent: str
    reason: str


class EventPage(Schema):
    items: list[EventOut]
    next_before: int | None


class AccessOut(Schema):
    at: datetime
    actor_name: str
    actor_role: str
    action: str
    object_type: str


class AccessPage(Schema):
    items: list[AccessOut]
    next_before: int | None


class HistoryQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    before: int | None = Field(default=None, ge=1)
    limit: int = Field(default=50, ge=1, le=selectors.MAX_PAGE)


def _event_out(event: AuditEvent) -> EventOut:
    return EventOut(
        seq=event.seq,
        at=event.occurred_at,
        actor_id=event.actor_id,
        actor_name=event.actor.display_name if event.actor else "",
        actor_role=event.actor_role,
        device_id=event.device_id,
        practice_id=event.practice_id,
        client_id=event.client_id,
        client_name=event.client.user.display_name if event.client else "",
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        outcome=event.outcome,
        address=event.address,
        user_agent=event.user_agent,
        reason=event.reason,
    )


def _reviewable(request: HttpRequest) -> tuple[User, QuerySet[AuditEvent]]:
    user = signed_in_user(request)
    events = selectors.reviewable_events(user)
    if events is None:
        raise HttpError(404, "Nothing was found here.")
    return user, events


def _home_practice(user: User) -> Practice | None:
    """Where a reviewer's own search or export is recorded, so their practice can see it."""
    membership = (
        Membership.objects.filter(user=user, removed_at__isnull=True, role__in=STAFF_ROLES)
        .select_related("practice")
        .order_by("created_at")
        .first()
    )
    return membership.practice if membership else None


@router.get("/audit/events", response=EventPage)
def search_events(request: HttpRequest, query: Query[EventQuery]) -> EventPage:
    user, events = _reviewable(request)
    rows, next_before = selectors.page(
        selectors.apply_filter(events, query.event_filter()), query.before, query.limit
    )
    with transaction.atomic():
        record_event(
            action="audit.search",
            actor=user,
            practice=_home_practice(user),
            object_type="audit",
            origin=Origin.of(request),
        )
    return EventPage(items=[_event_out(e) for e in rows], next_before=next_before)


class ExportQuery(EventQuery):
    format: Literal["csv", "json"] = "csv"


CSV_FIELDS = list(EventOut.model_fields)


def _stream(events: QuerySet[AuditEvent], fmt: str) -> Iterator[str]:
    rows = events.select_related("actor", "client__user").order_by("seq").iterator(2000)
    if fmt == "json":
        yield "["
        for index, event in enumerate(rows):
            yield ("," if index else "") + _event_out(event).model_dump_json()
        yield "]\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for event in rows:
        data = json.loads(_event_out(event).model_dump_json())
        # Spreadsheet formula injection: a cell must never start with = + - @.
        writer.writerow({k: _csv_safe(v) for k, v in data.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _csv_safe(value: object) -> object:
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


@router.get("/audit/events/export", response={200: None})
def export_events(
    request: HttpRequest, query: Query[ExportQuery]
) -> StreamingHttpResponse | HttpResponse:
    user, events = _reviewable(request)
    # A whole practice's trail leaves the server in one file: a left-open session alone must
    # not be enough. Checked after the 404, so a non-reviewer learns nothing more.
    refused = require_recent_auth(request)
    if refused is not None:
        return refused
    with transaction.atomic():
        record_event(
            action="audit.export",
            actor=user,
            practice=_home_practice(user),
            object_type="audit",
            reason=f"format={query.format}",
            origin=Origin.of(request),
        )
    filtered = selectors.apply_filter(events, query.event_filter())
    content_type = "application/json" if query.format == "json" else "text/csv; charset=utf-8"
    response = StreamingHttpResponse(_stream(filtered, query.format), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="quietroom-audit.{query.format}"'
    return response


class SecurityEventOut(Schema):
    at: datetime
    action: str
    outcome: str
    address: str
    user_agent: str
    reason: str


class SecurityPage(Schema):
    items: list[SecurityEventOut]
    next_before: int | None


def _own_history_page(
    events: QuerySet[AuditEvent], query: HistoryQuery
) -> tuple[list[AuditEvent], int | None]:
    """One page of a person's own history (access to their file, or their sign-ins)."""
    period = selectors.EventFilter(since=query.since, until=query.until)
    return selectors.page(selectors.apply_filter(events, period), query.before, query.limit)


@router.get("/account/security-events", response=SecurityPage)
def my_security_events(request: HttpRequest, query: Query[HistoryQuery]) -> SecurityPage:
    """The caller's own sign-in history: when, from which network and browser, and how it went,
    so that a sign-in they do not recognise stands out."""
    history = selectors.security_history(signed_in_user(request))
    rows, next_before = _own_history_page(history, query)
    return SecurityPage(
        items=[
            SecurityEventOut(
                at=e.occurred_at,
                action=e.action,
                outcome=e.outcome,
                address=e.address,
                user_agent=e.user_agent,
                reason=e.reason,
            )
            for e in rows
        ],
        next_before=next_before,
    )


@router.get("/audit/my-access", response=AccessPage)
def my_access(request: HttpRequest, query: Query[HistoryQuery]) -> AccessPage:
    """Who opened the caller's own record ("Who has seen my file")."""
    rows, next_before = _own_history_page(selectors.access_history(signed_in_user(request)), query)
    return AccessPage(
        items=[
            AccessOut(
                at=e.occurred_at,
                actor_name=e.actor.display_name if e.actor else "",
                actor_role=e.actor_role,
                action=e.action,
                object_type=e.object_type,
            )
            for e in rows
        ],
        next_before=next_before,
    )
