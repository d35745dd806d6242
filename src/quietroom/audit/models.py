"""The audit trail: one hash-chained row per event, and signed checkpoints over the chain.

Rows are only ever inserted (never updated); `quietroom audit verify` recomputes the chain and
names the first broken link. No clinical content is ever stored here: only who, what kind of
object, whose record, when, from where, why and the outcome.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"


class AuditEvent(models.Model):
    seq = models.BigIntegerField(primary_key=True)  # position in the chain, from 1, no gaps
    occurred_at = models.DateTimeField()
    # The foreign keys get no index of their own: the (field, seq) indexes below serve every
    # lookup, and each extra index is paid on every audited request.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    actor_role = models.CharField(max_length=16, blank=True)
    device_id = models.UUIDField(null=True)
    practice = models.ForeignKey(
        "practices.Practice", null=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Whose record: the client's membership, so the client can be shown their own history.
    client = models.ForeignKey(
        "practices.Membership",
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    address = models.CharField(max_length=64, blank=True)  # coarse: a /24 or /48 network
    user_agent = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["practice", "seq"], name="audit_practice_seq"),
            models.Index(fields=["client", "seq"], name="audit_client_seq"),
            models.Index(fields=["actor", "seq"], name="audit_actor_seq"),
            models.Index(fields=["action", "seq"], name="audit_action_seq"),
            # Refused attempts are rare, so "show me the denials" needs its own index, or an
            # empty answer would scan the whole trail.
            models.Index(fields=["outcome", "seq"], name="audit_outcome_seq"),
            models.Index(fields=["action", "outcome", "seq"], name="audit_action_outcome_seq"),
            models.Index(fields=["occurred_at"], name="audit_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"audit#{self.seq}"


class AuditCheckpoint(models.Model):
    """A signature by the server's audit key over the chain head at `seq`. Copied off the host
    (export or syslog), checkpoints stop a full rewrite of the chain from going unnoticed."""

    seq = models.BigIntegerField(primary_key=True)
    hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    signature = models.CharField(max_length=128)  # hex Ed25519
    # An anchor marks where retention purged older events; verification starts after it.
    anchor = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"checkpoint#{self.seq}"


class AuditVerification(models.Model):
    """The result of each `quietroom audit verify`, shown on the transparency page."""

    checked_at = models.DateTimeField()
    ok = models.BooleanField()
    events = models.BigIntegerField()
    first_broken_seq = models.BigIntegerField(null=True)
    problem = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"verification@{self.checked_at.isoformat()}"
