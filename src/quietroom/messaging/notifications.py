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
from django.db import transaction
from django.utils import timezone

from quietroom.accounts.models import User
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


def _already_told(conversation: Conversation, state: ReadState, seq: int, user: User) -> bool:
    """Emailed during this unread stretch: an earlier unread item by someone else arrived
    before the last email."""
    if state.last_notified_at is None:
        return False
    return (
        ConversationItem.objects.filter(
            conversation=conversation,
            seq__gt=state.last_read_seq,
            seq__lt=seq,
            received_at__lte=state.last_notified_at,
        )
        .exclude(author=user)
        .exists()
    )


def notify_new_item(conversation_id: UUID, seq: int, author_id: UUID) -> None:
    """Called once per stored item, after its transaction committed."""
    conversation = Conversation.objects.select_related("client").filter(pk=conversation_id).first()
    author = User.objects.filter(pk=author_id).first()
    if conversation is None or author is None:
        return
    client_user_id = conversation.client.user_id
    author_is_therapist = author.pk != client_user_id
    for user in User.objects.filter(
        pk__in=participants(conversation) - {author_id}, is_active=True
    ):
        prefs = NotificationPrefs.objects.filter(user=user).first() or NotificationPrefs(user=user)
        if not prefs.email_on_message or not user.email:
            continue
        with transaction.atomic():
            state, _ = ReadState.objects.select_for_update().get_or_create(
                conversation=conversation, user=user
            )
            if state.last_read_seq >= seq or _already_told(conversation, state, seq, user):
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
