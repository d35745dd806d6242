"""Email notifications for new messages (docs/api/messaging.md "Notifications").

The item store calls `notify_new_item` after commit. An email never carries content, a link to
the conversation or (unless the client opted in) a name: only that something is waiting and
the sign-in address. One email per unread stretch: once someone was emailed about an item they
have not read, later items before their next read send nothing.
"""

from __future__ import annotations

import logging
from email.utils import formataddr, parseaddr
from uuid import UUID

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone

from quietroom.accounts.models import User
from quietroom.core.rows import db_uuid
from quietroom.messaging.access import participants
from quietroom.messaging.models import (
    Conversation,
    ConversationItem,
    NotificationPrefs,
    ReadState,
)
from quietroom.practices.models import Role

logger = logging.getLogger("quietroom.messaging")

SUBJECT = "New secure message"
NEUTRAL_SUBJECT = "You have a new notification"
NEUTRAL_NAME = "Notifications"
BODY = "You have a new secure message from {sender}.\n\nSign in to read it:\n{sign_in}\n"


def sign_in_url() -> str:
    public_url: str = settings.CONFIG.public_url
    return public_url.rstrip("/") + "/sign-in"


def _neutral_from() -> str:
    # The configured address, with a sender name that says nothing about therapy.
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((NEUTRAL_NAME, address))


def compose(
    recipient: User, prefs: NotificationPrefs, author: User, *, is_client: bool
) -> EmailMessage:
    """The email for one recipient, by their choices. Pure: nothing is sent."""
    sender = "your practice"
    if is_client and prefs.name_sender and not prefs.neutral_sender:
        sender = f"{author.display_name} at your practice"
    body = BODY.format(sender=sender, sign_in=sign_in_url())
    if prefs.neutral_sender:
        return EmailMessage(NEUTRAL_SUBJECT, body, _neutral_from(), [recipient.email])
    return EmailMessage(SUBJECT, body, None, [recipient.email])


def _already_told(conversation_id: UUID, state: ReadState, seq: int, user: User) -> bool:
    """Emailed during this unread stretch: an earlier unread item by someone else arrived
    before the last email."""
    if state.last_notified_at is None:
        return False
    return (
        ConversationItem.objects.filter(
            conversation_id=conversation_id,
            seq__gt=state.last_read_seq,
            seq__lt=seq,
            received_at__lte=state.last_notified_at,
        )
        .exclude(author=user)
        .exists()
    )


# The same rules as the locked check in `notify_new_item` (wants email, has an address, has not
# read the item, was not already told about this unread stretch), as one read without a lock:
# almost every item is in a stretch someone was already told about, and then nothing is due and
# nothing is written. Hand-written because it runs after every stored item (see access.py).
_DUE_SQL = (
    "SELECT u.id FROM {users} u"
    " LEFT JOIN {prefs} p ON p.user_id = u.id"
    " LEFT JOIN {reads} r ON r.conversation_id = %s AND r.user_id = u.id"
    " WHERE u.id IN ({ids}) AND u.is_active = %s AND u.email <> ''"
    " AND (p.user_id IS NULL OR p.email_on_message = %s)"
    " AND (r.id IS NULL OR (r.last_read_seq < %s AND (r.last_notified_at IS NULL OR NOT EXISTS("
    "SELECT 1 FROM {items} i WHERE i.conversation_id = %s AND i.seq > r.last_read_seq"
    " AND i.seq < %s AND i.received_at <= r.last_notified_at AND i.author_id <> u.id))))"
)


def _due(conversation_id: UUID, seq: int, user_ids: set[UUID]) -> list[UUID]:
    """The recipients among `user_ids` who look due an email for item `seq` (re-checked under
    a lock before anything is sent)."""
    if not user_ids:
        return []
    # `_meta` is Django's documented model metadata API, not a private member.
    sql = _DUE_SQL.format(
        users=User._meta.db_table,  # noqa: SLF001
        prefs=NotificationPrefs._meta.db_table,  # noqa: SLF001
        reads=ReadState._meta.db_table,  # noqa: SLF001
        items=ConversationItem._meta.db_table,  # noqa: SLF001
        ids=", ".join(["%s"] * len(user_ids)),
    )
    cid = db_uuid(conversation_id)
    params = [cid, *(db_uuid(u) for u in sorted(user_ids)), True, True, seq, cid, seq]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [UUID(str(row[0])) for row in cursor.fetchall()]


def notify_new_item(
    conversation_id: UUID,
    seq: int,
    author_id: UUID,
    *,
    members: set[UUID] | None = None,
    client_user_id: UUID | None = None,
) -> None:
    """Called once per stored item, after its transaction committed. The item store passes
    the participants it already loaded (`members`, with the client's user id) to save reloading
    them; without them they are read here."""
    if members is None or client_user_id is None:
        conversation = (
            Conversation.objects.select_related("client").filter(pk=conversation_id).first()
        )
        if conversation is None:
            return
        members, client_user_id = participants(conversation), conversation.client.user_id
    due = _due(conversation_id, seq, members - {author_id})
    if not due:
        return  # the common case: one read, no write
    author = User.objects.filter(pk=author_id).first()
    if author is None:
        return
    author_is_therapist = author.pk != client_user_id
    for user in User.objects.filter(pk__in=due, is_active=True):
        prefs = NotificationPrefs.objects.filter(user=user).first() or NotificationPrefs(user=user)
        if not prefs.email_on_message or not user.email:
            continue
        with transaction.atomic():
            state, _ = ReadState.objects.select_for_update().get_or_create(
                conversation_id=conversation_id, user=user
            )
            if state.last_read_seq >= seq or _already_told(conversation_id, state, seq, user):
                continue
            state.last_notified_at = timezone.now()
            state.save(update_fields=["last_notified_at"])
        is_client = user.pk == client_user_id
        message = compose(user, prefs, author, is_client=is_client and author_is_therapist)
        try:
            message.send()
        except Exception:  # noqa: BLE001 - one failed email must not stop the others
            # No address, no content: only which conversation, so an operator can look.
            logger.warning(
                "message notification not sent",
                extra={
                    "conversation": str(conversation_id),
                    "role": str(Role.CLIENT if is_client else Role.THERAPIST),
                },
            )
