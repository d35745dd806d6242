"""Email notifications for new messages (docs/api/messaging.md "Notifications").

Placeholder: the item store calls `notify_new_item` after commit; the notification work fills it
in. It must never put content, a conversation link or (unless opted in) a name in an email.
"""

from __future__ import annotations

from uuid import UUID


def notify_new_item(conversation_id: UUID, seq: int, author_id: UUID) -> None:
    """Called once per stored item, after its transaction committed."""
