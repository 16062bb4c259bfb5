"""Template context from the groups app."""

from django.utils import timezone

from groups.selectors import emergency_state


def platform_notices(request) -> dict:
    """R5.1: the system notices a supervisor broadcast, on every page while they are in force."""
    return {"platform_notices": emergency_state().notices_now(timezone.now())}
