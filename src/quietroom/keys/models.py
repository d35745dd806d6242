"""A person's sealed account keys (crypto-protocol §4, §5, §9, §10).

Everything here is either public (public keys, signed statements) or sealed in the browser
(pw_wrap, bundle, dev_wrap, escrow, recovery transfer): the server can open none of it.
Envelopes are stored as the exact JSON text the browser sent, so signatures stay checkable
byte for byte by anyone who reads them back. Byte fields are unpadded base64url.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from quietroom.practices.models import Practice


class AccountKeys(models.Model):
    """The current account keys of one person (v1: an account belongs to one practice, whose
    PRK holds the escrow)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="account_keys",
    )
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    ver = models.PositiveIntegerField()  # bundle / aek_bind version (§4.3, §4.4)
    aik_pub = models.CharField(max_length=43)
    aik_id = models.CharField(max_length=43)  # KID(aik), b64url
    aek_pub = models.CharField(max_length=43)
    aek_id = models.CharField(max_length=43)
    bundle = models.TextField()  # BundleEnvelope JSON
    rec_escrow = models.TextField()  # b64url HPKE ciphertext to the PRK (§4.4)
    rec_escrow_prk_id = models.CharField(max_length=43)
    # Set by a password reset (§9.2): sign-in works, the keys wait for §10 recovery.
    keys_locked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"keys:{self.user_id}"


class AekBind(models.Model):
    """Every aek_bind ever published; readers pick the highest valid ver under the AIK."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="aek_binds"
    )
    aik_id = models.CharField(max_length=43)  # the AIK that signed it
    ver = models.PositiveIntegerField()
    envelope = models.TextField()  # AekBindEnvelope JSON
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "aik_id", "ver"], name="one_aek_bind_per_ver")
        ]

    def __str__(self) -> str:
        return f"aek-bind:{self.user_id}:{self.ver}"


class PasswordWrap(models.Model):
    """pw_wrap versions (§4.2, §9.1). A wrap is `pending` (bound to the session that uploaded
    it) until a password change or a locked-keys confirm activates it; the newest active one is
    current, and older ones are deleted only when the browser confirms it opened the new one."""

    class State(models.TextChoices):
        PENDING = "pending"
        ACTIVE = "active"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pw_wraps"
    )
    ver = models.PositiveIntegerField()
    m = models.PositiveIntegerField()
    t = models.PositiveSmallIntegerField()
    p = models.PositiveSmallIntegerField()
    ct = models.TextField()  # b64url AEAD(KEK, UK)
    state = models.CharField(max_length=8, choices=State.choices)
    session_key_hash = models.CharField(max_length=64, blank=True)  # pending only
    confirmed = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "ver"], name="one_pw_wrap_per_ver"),
        ]

    def __str__(self) -> str:
        return f"pw-wrap:{self.user_id}:{self.ver}"


class DeviceListVersion(models.Model):
    """Every signed device list (§5.3); never updated or deleted."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="device_lists"
    )
    seq = models.PositiveIntegerField()
    aik_id = models.CharField(max_length=43)
    msg_hash = models.CharField(max_length=43)  # b64url SHA-256(M_n)
    envelope = models.TextField()  # DeviceList JSON
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "seq"], name="one_device_list_per_seq")
        ]

    def __str__(self) -> str:
        return f"device-list:{self.user_id}:{self.seq}"


class DevWrap(models.Model):
    """ "Remember this device" (§5.2): the UK sealed to one device's DK_enc."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dev_wraps"
    )
    device_id = models.UUIDField()
    ct = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "device_id"], name="one_dev_wrap_per_device")
        ]

    def __str__(self) -> str:
        return f"dev-wrap:{self.user_id}:{self.device_id}"


class RecoveryRequest(models.Model):
    """Practice-assisted recovery (§10.2): a new device's one-time key T, the admin's transfer
    of the escrowed AEK to it, and the signed record of who did it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recovery_requests"
    )
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    t_pub = models.CharField(max_length=43)
    created_at = models.DateTimeField(auto_now_add=True)
    transfer_ct = models.TextField(blank=True)
    transfer_aek_id = models.CharField(max_length=43, blank=True)
    record = models.TextField(blank=True)  # JSON {at, method, sig} signed by the admin's AIK
    transferred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    transferred_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.id)
