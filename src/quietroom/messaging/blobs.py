"""Attachment blobs on disk (crypto-protocol §8, docs/api/messaging.md).

A blob is a stream ciphertext uploaded in chunks by one participant, then attached to exactly
one `file` item. The bytes live in `CONFIG.blob_dir / <id>`; the row knows only the declared
size, the length §8 fixes for it, how much has arrived and (once complete) its SHA-256, taken
by the chunk upload that completes it: the bytes cannot change after that, so the item store
does not read the file again while other senders wait on its transaction.

The item store calls `blob_for_attach` inside its transaction when an upload's body names a
`blob_id`, and `mark_attached` once the item is stored.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from quietroom.accounts.models import User
from quietroom.core.body_limit import BLOB_CHUNK_MAX
from quietroom.crypto import stream
from quietroom.crypto.server_checks import StoredBlob
from quietroom.messaging.models import Blob, Conversation, ItemGrant, ItemWrap

logger = logging.getLogger("quietroom.messaging")

CHUNK_MAX = BLOB_CHUNK_MAX
READ_SIZE = 1024 * 1024
ORPHAN_AFTER = timedelta(days=1)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a refused NOWAIT lock


class ChunkError(Exception):
    """A chunk that cannot be written; nothing was changed."""

    def __init__(self, status: int, code: str, message: str, **extra: int) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def max_size() -> int:
    """The largest plaintext `size` an attachment may declare."""
    mib: int = settings.CONFIG.attachment_max_mib
    return mib * 1024 * 1024


def max_length() -> int:
    """The longest ciphertext an attachment may have: the `blob_max` for the item checks
    (`UploadContext.blob_max`), which compare ciphertext lengths, not plaintext sizes."""
    return stream.ciphertext_length(max_size())


def blob_path(blob_id: UUID) -> Path:
    directory: Path = settings.CONFIG.blob_dir
    return directory / blob_id.hex


def start_upload(conversation: Conversation, uploader: User, size: int) -> Blob:
    """A new, empty upload of the ciphertext for `size` plaintext bytes (size already checked)."""
    blob = Blob.objects.create(
        conversation=conversation,
        uploader=uploader,
        size=size,
        length=stream.ciphertext_length(size),
    )
    path = blob_path(blob.id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Made empty now so that a resumed upload always has a file to append to.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    return blob


def open_upload(user: User, blob_id: UUID) -> Blob | None:
    """The caller's own upload that is not attached yet; None for anything else (one 404)."""
    return (
        Blob.objects.filter(pk=blob_id, uploader=user, attached_at__isnull=True)
        .select_related("conversation")
        .first()
    )


def append_chunk(
    blob: Blob,
    offset: int,
    read: Callable[[int], bytes],
    on_complete: Callable[[Blob], None],
) -> Blob:
    """Writes the body (read in pieces with `read`) at `offset`, which must equal what has been
    received. Durable (fsync) before `received` moves, in the same transaction; `on_complete`
    (the audit row) runs in it when the last byte arrives. ChunkError if the chunk is refused
    (nothing kept)."""
    with transaction.atomic():
        locked = Blob.objects.select_for_update().filter(pk=blob.pk, attached_at__isnull=True)
        found = locked.first()
        if found is None:
            raise ChunkError(404, "not_found", "Nothing was found here.")
        blob = found
        if offset != blob.received:
            raise ChunkError(
                409,
                "offset_mismatch",
                "The upload continues at a different offset.",
                received=blob.received,
            )
        room = blob.length - blob.received
        fd = os.open(blob_path(blob.id), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.lseek(fd, offset, os.SEEK_SET)
            written = 0
            while True:
                piece = read(READ_SIZE)
                if not piece:
                    break
                written += len(piece)
                _check_room(written, room)
                os.write(fd, piece)
            # Bytes past `received` from an earlier failed attempt are dropped here.
            os.ftruncate(fd, offset + written)
            os.fsync(fd)
        except BaseException:
            # Back to what the row says was received, so a retry starts clean.
            os.ftruncate(fd, offset)
            raise
        finally:
            os.close(fd)
        blob.received = offset + written
        fields = ["received"]
        if blob.received == blob.length and blob.completed_at is None:
            blob.completed_at = timezone.now()
            blob.sha256 = _file_sha256(blob_path(blob.id)).hex()
            fields += ["completed_at", "sha256"]
        blob.save(update_fields=fields)
        if "completed_at" in fields:
            on_complete(blob)
    return blob


def _check_room(written: int, room: int) -> None:
    if written > CHUNK_MAX:
        raise ChunkError(413, "too_large", "A chunk may be at most 8 MiB.")
    if written > room:
        raise ChunkError(400, "past_length", "The chunk goes past the attachment's length.")


def abandon(blob: Blob) -> None:
    """In the caller's transaction: forget the upload and delete its bytes."""
    Blob.objects.filter(pk=blob.pk, attached_at__isnull=True).delete()
    transaction.on_commit(lambda: _unlink(blob.id))


def _unlink(blob_id: UUID) -> None:
    blob_path(blob_id).unlink(missing_ok=True)


def _file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while piece := source.read(READ_SIZE):
            digest.update(piece)
    return digest.digest()


def blob_for_attach(
    conversation: Conversation, blob_id: UUID, uploader: User
) -> tuple[Blob, StoredBlob] | None:
    """The complete, unattached blob `uploader` uploaded to `conversation`, locked for update,
    with its SHA-256; None if there is no such blob, or a chunk upload still holds it."""
    try:
        with transaction.atomic():  # a savepoint: a refused lock must not abort the caller's
            blob = (
                Blob.objects.select_for_update(nowait=True)
                .filter(
                    pk=blob_id,
                    conversation=conversation,
                    uploader=uploader,
                    attached_at__isnull=True,
                    completed_at__isnull=False,
                )
                .first()
            )
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise  # a real fault: the writer answers "try again"
        # PostgreSQL: a chunk of this blob is being written, so it is not complete. Waiting
        # here, under the audit chain lock the item store holds, could deadlock with that
        # chunk, which locks the blob first and then audits.
        return None
    if blob is None or blob.received != blob.length:
        return None
    path = blob_path(blob.id)
    try:
        if path.stat().st_size != blob.length:
            return None
        if not blob.sha256:  # completed before the completing chunk took the hash
            blob.sha256 = _file_sha256(path).hex()
            blob.save(update_fields=["sha256"])
    except FileNotFoundError:
        return None
    return blob, StoredBlob(
        blob_id=blob.id,
        uploader_user_id=uploader.id,
        length=blob.length,
        sha256=bytes.fromhex(blob.sha256),
    )


def mark_attached(blob: Blob) -> None:
    """In the item's transaction: the blob now belongs to its item and can no longer change."""
    blob.attached_at = timezone.now()
    blob.save(update_fields=["attached_at"])


def readable_blob(user: User, blob_id: UUID) -> Blob | None:
    """An attached blob whose item `user` holds a wrap or grant for (so removal from the care
    team, which deletes those, ends access too). The conversation check is the caller's."""
    return (
        Blob.objects.select_related("item", "conversation")
        .filter(pk=blob_id, attached_at__isnull=False, item__isnull=False)
        .filter(
            Q(item__in=ItemWrap.objects.filter(kind="user", principal_id=user.id).values("item_id"))
            | Q(item__in=ItemGrant.objects.filter(grantee=user).values("item_id"))
        )
        .first()
    )


def blob_conversation_client(blob_id: UUID) -> UUID | None:
    """The client id of the conversation a blob belongs to, for access and audit only."""
    return Blob.objects.filter(pk=blob_id).values_list("conversation__client_id", flat=True).first()


def delete_orphan_uploads(older_than: timedelta = ORPHAN_AFTER) -> int:
    """Uploads never attached and started more than `older_than` ago: rows and bytes go. Run
    by maintenance (`quietroom serve` at start and the audit retention job)."""
    cutoff = timezone.now() - older_than
    ids = list(
        Blob.objects.filter(attached_at__isnull=True, created_at__lt=cutoff).values_list(
            "id", flat=True
        )
    )
    deleted = 0
    for blob_id in ids:
        with transaction.atomic():
            # Re-checked under the row lock: an item may have attached it meanwhile.
            count, _ = Blob.objects.filter(
                pk=blob_id, attached_at__isnull=True, item__isnull=True
            ).delete()
        if count:
            _unlink(blob_id)
            deleted += 1
    deleted += _delete_stray_files(cutoff.timestamp())
    if deleted:
        logger.info("abandoned uploads deleted", extra={"count": deleted})
    return deleted


def _delete_stray_files(cutoff: float) -> int:
    """Files with no row: an upload whose start rolled back after its file was made."""
    directory: Path = settings.CONFIG.blob_dir
    if not directory.is_dir():
        return 0
    deleted = 0
    for path in directory.iterdir():
        try:
            blob_id = UUID(hex=path.name)
        except ValueError:
            continue  # not ours
        if path.stat().st_mtime < cutoff and not Blob.objects.filter(pk=blob_id).exists():
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
