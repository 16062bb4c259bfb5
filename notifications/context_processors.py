"""The header's bell: how many notices the signed-in person has not read (counted only if a page shows it)."""

from django.utils.functional import SimpleLazyObject

from notifications import selectors


def unread_notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": SimpleLazyObject(lambda: selectors.unread_count(user))}
