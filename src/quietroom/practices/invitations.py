"""Invitations: the only way into a practice (signup is closed to the public).

Owners invite administrators and therapists; administrators invite therapists; therapists invite
their own clients, and join the new client's care team. The email names the practice and nothing
else: a message that mentions therapy can itself reveal that someone is in therapy. Every answer
about a token is the same whether it never existed, expired, was revoked or was used.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from quietroom.accounts.models import User
from quietroom.accounts.prelogin import normalize_email  # allauth's lookup form
from quietroom.audit.services import Origin, record_event
from quietroom.directory.services import config_envelopes
from quietroom.practices.models import CareTeamMember, Invitation, Membership, Practice, Role

SESSION_KEY = "qr_invitation"

# Who may invite whom: the inviter's role -> the roles they may invite.
MAY_INVITE: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset({Role.ADMIN, Role.THERAPIST}),
    Role.ADMIN: frozenset({Role.THERAPIST}),
    Role.THERAPIST: frozenset({Role.CLIENT}),
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def inviter_membership(user: User, practice_id: UUID, role: str) -> Membership | None:
    """The caller's membership that may invite `role` into the practice, or None."""
    if not user.is_active:
        return None
    membership = Membership.objects.filter(
        practice_id=practice_id, user=user, removed_at__isnull=True
    ).first()
    if membership is None or role not in MAY_INVITE.get(membership.role, frozenset()):
        return None
    return membership


def _invitation_email(practice: Practice, token: str) -> tuple[str, str]:
    link = f"{settings.CONFIG.public_url}/join#token={token}"
    days = settings.CONFIG.invitation_days
    subject = f"Your invitation to {practice.name}"
    body = (
        f"Hello,\n\n{practice.name} has invited you to create an account on its Quietroom.\n\n"
        f"Open this link to accept (it works once, for {days} days):\n{link}\n\n"
        "If you did not expect this message, you can ignore it.\n"
    )
    return subject, body


@transaction.atomic
def create_invitation(
    inviter: Membership, email: str, role: str, origin: Origin | None = None
) -> Invitation:
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        practice=inviter.practice,
        email=normalize_email(email),
        role=role,
        invited_by=inviter,
        token_hash=_hash(token),
        expires_at=timezone.now() + timedelta(days=settings.CONFIG.invitation_days),
    )
    record_event(
        action="invitation.created",
        actor=inviter.user,
        actor_role=inviter.role,
        practice=inviter.practice,
        object_type="invitation",
        object_id=str(invitation.id),
        reason=f"role={role}",
        origin=origin,
    )
    subject, body = _invitation_email(inviter.practice, token)
    # After commit: an invitation whose row rolled back must not reach anyone's inbox.
    transaction.on_commit(lambda: send_mail(subject, body, None, [invitation.email]))
    return invitation


def pending_invitations(actor: User, practice_id: UUID) -> list[Invitation] | None:
    """Open invitations the caller may see: all of the practice's for owners and admins, their
    own for therapists. None when the caller may see none (the API answers 404)."""
    membership = Membership.objects.filter(
        practice_id=practice_id, user=actor, removed_at__isnull=True
    ).first()
    if membership is None or membership.role == Role.CLIENT or not actor.is_active:
        return None
    invitations = Invitation.objects.filter(
        practice_id=practice_id,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if membership.role == Role.THERAPIST:
        invitations = invitations.filter(invited_by=membership)
    return list(invitations.order_by("-created_at"))


@transaction.atomic
def revoke(actor: User, invitation_id: UUID, origin: Origin | None = None) -> bool:
    invitation = (
        Invitation.objects.select_for_update()
        .filter(pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .first()
    )
    if invitation is None:
        return False
    membership = Membership.objects.filter(
        practice_id=invitation.practice_id, user=actor, removed_at__isnull=True
    ).first()
    if membership is None or not (
        membership.role in {Role.OWNER, Role.ADMIN} or invitation.invited_by_id == membership.pk
    ):
        return False
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record_event(
        action="invitation.revoked",
        actor=actor,
        actor_role=membership.role,
        practice=invitation.practice,
        object_type="invitation",
        object_id=str(invitation.id),
        origin=origin,
    )
    return True


def _usable(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("practice")
        .filter(
            token_hash=_hash(token),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


@dataclass(frozen=True)
class OpenedInvitation:
    email: str
    practice_name: str
    role: str
    practice_id: UUID
    # Every signed config, oldest first: the invitee's browser pins the PRSK from them and
    # seals its escrow to the newest PRK before it has an account (§6.4, §4.4).
    configs: list[dict[str, Any]]


def open_invitation(request: HttpRequest, token: str) -> OpenedInvitation | None:
    """Mark this browser session as holding the invitation, so that signing up (or joining with
    an existing account) may use it. None for any token that cannot be used."""
    invitation = _usable(token)
    if invitation is None:
        return None
    request.session[SESSION_KEY] = {"id": str(invitation.id), "token_hash": invitation.token_hash}
    return OpenedInvitation(
        invitation.email,
        invitation.practice.name,
        invitation.role,
        invitation.practice_id,
        config_envelopes(invitation.practice),
    )


def held_invitation(request: HttpRequest) -> Invitation | None:
    """The invitation this session opened, if it can still be used."""
    marker = request.session.get(SESSION_KEY)
    if not isinstance(marker, dict) or not isinstance(marker.get("id"), str):
        return None
    return (
        Invitation.objects.select_related("practice", "invited_by")
        .filter(
            pk=marker["id"],
            token_hash=str(marker.get("token_hash")),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


@transaction.atomic
def accept(request: HttpRequest, user: User) -> Membership | None:
    """Turn the held invitation into a membership for `user`, whose email must be the one the
    invitation was sent to. A client invited by a therapist joins that therapist's care team."""
    held = held_invitation(request)
    if held is None:
        return None
    invitation = Invitation.objects.select_for_update().get(pk=held.pk)
    if invitation.accepted_at is not None or normalize_email(user.email) != invitation.email:
        return None
    membership, _ = Membership.objects.update_or_create(
        practice=invitation.practice,
        user=user,
        defaults={"role": invitation.role, "removed_at": None},
    )
    if invitation.role == Role.CLIENT and held.invited_by.role == Role.THERAPIST:
        CareTeamMember.objects.get_or_create(
            client=membership, therapist=held.invited_by, removed_at=None
        )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record_event(
        action="invitation.accepted",
        actor=user,
        actor_role=membership.role,
        practice=invitation.practice,
        client=membership if membership.role == Role.CLIENT else None,
        object_type="invitation",
        object_id=str(invitation.id),
        origin=Origin.of(request),
    )
    request.session.pop(SESSION_KEY, None)
    return membership
