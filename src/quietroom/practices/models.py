"""Practices, who belongs to them in which role, and who cares for which client."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Administrator"
    THERAPIST = "therapist", "Therapist"
    CLIENT = "client", "Client"


STAFF_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.THERAPIST})


class Practice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.id)


class Membership(models.Model):
    """A person's role in one practice. Removal keeps the row (the audit trail refers to it)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "user"], name="one_membership_per_practice"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return str(self.id)

    @property
    def active(self) -> bool:
        return self.removed_at is None


class CareTeamMember(models.Model):
    """A therapist on a client's care team; only these therapists reach that client's record."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="care_team")
    therapist = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="caseload")
    added_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "therapist"],
                condition=models.Q(removed_at__isnull=True),
                name="one_active_assignment",
            )
        ]

    def __str__(self) -> str:
        return str(self.id)


class SetupLink(models.Model):
    """The one-time practice set-up link printed at first start. Only its hash is stored, so a
    copy of the database cannot be used to claim the practice."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.id)


class Invitation(models.Model):
    """A single-use, expiring, revocable invitation to join a practice in one role. Only the
    token's hash is stored; the token itself travels once, in the email."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[Role.ADMIN, Role.THERAPIST, Role.CLIENT]),
                name="invitation_role_valid",  # nobody is invited as owner
            )
        ]

    def __str__(self) -> str:
        return str(self.id)
