"""Secure messaging between a client and their care team (issue #6, crypto-protocol §7, §8).

The server stores sealed items only: each row keeps the item's header (plaintext by design, no
clinical content), its sealed body or blob, its signature and its wraps. It can order, route and
delete them; it can open none of them. Byte fields are unpadded base64url, as the browser sent
them, so the signature stays checkable by anyone who reads an item back.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from quietroom.practices.models import Membership, Practice


class Conversation(models.Model):
    """The one conversation of a client with their care team; made on first use."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    client = models.OneToOneField(Membership, on_delete=models.PROTECT, related_name="conversation")
    # The newest item's sequence number; items get last_seq + 1 under a row lock, so the order
    # is the server's and has no gaps.
    last_seq = models.PositiveBigIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"conversation:{self.pk}"


class Blob(models.Model):
    """A stream ciphertext (§8) being uploaded in chunks, then attached to one `file` item.
    The bytes live in `CONFIG.blob_dir / <id>`; only its length and hash are known here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="blobs")
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    size = models.PositiveBigIntegerField()  # the declared plaintext size (the item's body.size)
    length = models.PositiveBigIntegerField()  # the ciphertext length §8 fixes for that size
    received = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)  # hex, set once complete
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    attached_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"blob:{self.pk}"


class ConversationItem(models.Model):
    """One sealed `message` or `file` item (revision 0; messages are not revised in v1)."""

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="items")
    seq = models.PositiveBigIntegerField()
    item_id = models.UUIDField(unique=True)
    type = models.CharField(max_length=16)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    header = models.TextField()  # the header's canonical JSON (envelope.dumps)
    body_ct = models.TextField(blank=True)  # inline body, b64url; empty for a stream item
    blob = models.OneToOneField(
        Blob, null=True, blank=True, on_delete=models.PROTECT, related_name="item"
    )
    sig = models.CharField(max_length=86)
    # SHA-256 (hex) of the upload's canonical JSON: a retried send of the same item is answered
    # with the first acknowledgment instead of a duplicate or a conflict.
    upload_sha256 = models.CharField(max_length=64)
    created_at_ms = models.BigIntegerField()  # the header's created_at (author's clock)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="messaging_item_seq"),
        ]

    def __str__(self) -> str:
        return f"item:{self.item_id}"


class ItemWrap(models.Model):
    """The CEK sealed to one recipient (§7.4). Removing someone's access deletes their wraps."""

    id = models.BigAutoField(primary_key=True)
    item = models.ForeignKey(ConversationItem, on_delete=models.CASCADE, related_name="wraps")
    kind = models.CharField(max_length=4)  # "user" or "prk"
    principal_id = models.UUIDField()  # the user id, or the practice id for the PRK
    key_id = models.CharField(max_length=22)
    ct = models.CharField(max_length=108)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "kind", "principal_id", "key_id"], name="messaging_wrap_unique"
            ),
        ]
        indexes = [models.Index(fields=["principal_id"], name="messaging_wrap_principal")]

    def __str__(self) -> str:
        return f"wrap:{self.item_id}:{self.kind}:{self.principal_id}"


class ItemGrant(models.Model):
    """A signed grant (§7.9) giving a later care-team member an earlier item's CEK."""

    id = models.BigAutoField(primary_key=True)
    item = models.ForeignKey(ConversationItem, on_delete=models.CASCADE, related_name="grants")
    grantee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    envelope = models.TextField()  # the grant's canonical JSON
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "grantee"], name="messaging_grant_unique"),
        ]

    def __str__(self) -> str:
        return f"grant:{self.item_id}:{self.grantee_id}"


class ReadState(models.Model):
    """How far one person has read one conversation, and when they were last emailed about it."""

    id = models.BigAutoField(primary_key=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    last_read_seq = models.PositiveBigIntegerField(default=0)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="messaging_read_unique"),
        ]

    def __str__(self) -> str:
        return f"read:{self.conversation_id}:{self.user_id}:{self.last_read_seq}"


class NotificationPrefs(models.Model):
    """Per-person email notification choices. No row means the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    email_on_message = models.BooleanField(default=True)
    # Clients: name the therapist in the email (off by default: a shared inbox may be read).
    name_sender = models.BooleanField(default=False)
    # Clients in unsafe homes: the email's sender name and subject say nothing about therapy.
    neutral_sender = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"notification-prefs:{self.user_id}"


class MessagingSettings(models.Model):
    """Practice-wide messaging settings. No row means the defaults."""

    practice = models.OneToOneField(
        Practice, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    # Plain text shown in every conversation under "Not for emergencies" (not clinical content:
    # the practice's own public crisis resources).
    crisis_resources = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"messaging-settings:{self.practice_id}"
