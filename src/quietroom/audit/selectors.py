"""Reads of the audit trail, always through the access rules in audit/access.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Q, QuerySet

from quietroom.accounts.models import User
from quietroom.audit.models import AuditEvent, Outcome
from quietroom.practices.models import CareTeamMember, Membership, Role

MAX_PAGE = 200


@dataclass(frozen=True)
class EventFilter:
    actor: UUID | None = None
    client: UUID | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def reviewable_events(user: User) -> QuerySet[AuditEvent] | None:
    """Events a staff member may review: a practice's owners and admins see all of its events,
    therapists the events about clients on their own care teams. None for anyone else."""
    if not user.is_active:
        return None
    memberships = list(Membership.objects.filter(user=user, removed_at__isnull=True))
    admin_practices = [m.practice_id for m in memberships if m.role in {Role.OWNER, Role.ADMIN}]
    therapist_ids = [m.pk for m in memberships if m.role == Role.THERAPIST]
    if not admin_practices and not therapist_ids:
        return None
    own_clients = CareTeamMember.objects.filter(
        therapist_id__in=therapist_ids, removed_at__isnull=True
    ).values("client_id")
    # A subquery rather than a join: each event appears once, and the indexes stay usable.
    return AuditEvent.objects.filter(
        Q(practice_id__in=admin_practices) | Q(client_id__in=own_clients)
    )


def apply_filter(events: QuerySet[AuditEvent], f: EventFilter) -> QuerySet[AuditEvent]:
    if f.actor is not None:
        events = events.filter(actor_id=f.actor)
    if f.client is not None:
        events = events.filter(client_id=f.client)
    if f.action:
        events = events.filter(action=f.action)
    if f.outcome:
        events = events.filter(outcome=f.outcome)
    if f.since is not None:
        events = events.filter(occurred_at__gte=f.since)
    if f.until is not None:
        events = events.filter(occurred_at__lt=f.until)
    return events


def page(
    events: QuerySet[AuditEvent], before: int | None, limit: int
) -> tuple[list[AuditEvent], int | None]:
    """Newest first, keyset-paginated on seq: as fast on page 5,000 as on page 1."""
    limit = max(1, min(limit, MAX_PAGE))
    if before is not None:
        events = events.filter(seq__lt=before)
    rows = list(events.select_related("actor", "client__user").order_by("-seq")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if more and rows else None)


def access_history(user: User) -> QuerySet[AuditEvent]:
    """Who opened this person's record: every allowed access by someone else."""
    own = Membership.objects.filter(user=user, role=Role.CLIENT).values("pk")
    return (
        AuditEvent.objects.filter(client_id__in=own, outcome=Outcome.ALLOWED)
        .exclude(actor=user)
        .exclude(actor__isnull=True)
    )


def security_history(user: User) -> QuerySet[AuditEvent]:
    """This person's own sign-ins, failures, sign-outs and credential changes."""
    return AuditEvent.objects.filter(actor=user, action__startswith="auth.")
