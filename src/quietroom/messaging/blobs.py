"""Attachment blobs on disk (crypto-protocol §8). Placeholder: the attachments work fills it in.

The item store calls `blob_for_attach` inside its transaction when an upload's body names a
`blob_id`, and `mark_attached` once the item is stored.
"""

from __future__ import annotations

from uuid import UUID

from quietroom.accounts.models import User
from quietroom.crypto.server_checks import StoredBlob
from quietroom.messaging.models import Blob, Conversation


def blob_for_attach(
    conversation: Conversation, blob_id: UUID, uploader: User
) -> tuple[Blob, StoredBlob] | None:
    """The complete, unattached blob `uploader` uploaded to `conversation`, locked for update,
    with its SHA-256 computed from the bytes on disk; None if there is no such blob."""
    return None


def mark_attached(blob: Blob) -> None:
    """In the item's transaction: the blob now belongs to its item and can no longer change."""
