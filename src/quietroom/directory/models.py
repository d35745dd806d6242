"""The practice's public key directory (crypto-protocol §6): signed practice configs, member
certificates and revocations, and the PRSK wrapped to each owner's and admin's AEK.

All of it is public within the practice or sealed in the browser; envelopes are stored as the
exact JSON text the browser sent. Times in envelopes are milliseconds since the epoch.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from quietroom.practices.models import Practice


class PracticeConfigVersion(models.Model):
    """Every signed practice config (§6.2); the newest carries the only PRK clients wrap to."""

    id = models.BigAutoField(primary_key=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="configs")
    seq = models.PositiveIntegerField()
    prsk_pub = models.CharField(max_length=43)
    prk_pub = models.CharField(max_length=43)
    prk_id = models.CharField(max_length=43)
    msg_hash = models.CharField(max_length=43)  # b64url SHA-256(C_n)
    envelope = models.TextField()  # PracticeConfig JSON
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "seq"], name="one_config_per_seq")
        ]

    def __str__(self) -> str:
        return f"config:{self.practice_id}:{self.seq}"


class MemberCertificate(models.Model):
    id = models.BigAutoField(primary_key=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="certificates")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="certificates"
    )
    role = models.CharField(max_length=16)
    aik_pub = models.CharField(max_length=43)
    aik_id = models.CharField(max_length=43)
    valid_from = models.BigIntegerField()  # ms
    reason = models.CharField(max_length=16)
    issuer_kind = models.CharField(max_length=8)
    issuer_key_id = models.CharField(max_length=43)
    envelope = models.TextField()  # MemberCert JSON
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"cert:{self.user_id}:{self.aik_id}"


class MemberRevocationRecord(models.Model):
    id = models.BigAutoField(primary_key=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="revocations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cert_revocations"
    )
    aik_id = models.CharField(max_length=43)
    revoked_at = models.BigIntegerField()  # ms
    reason = models.CharField(max_length=32)
    envelope = models.TextField()  # MemberRevocation JSON
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"revocation:{self.user_id}:{self.aik_id}"


class PrskWrap(models.Model):
    """The PRSK sealed to an owner's or admin's AEK (§6.1), so their browser can certify."""

    id = models.BigAutoField(primary_key=True)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="prsk_wraps")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prsk_wraps"
    )
    aek_id = models.CharField(max_length=43)
    ct = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "user"], name="one_prsk_wrap_per_admin")
        ]

    def __str__(self) -> str:
        return f"prsk-wrap:{self.user_id}"
