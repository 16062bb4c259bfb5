from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Liveness and database reachability, for container health checks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def permission_denied(request, exception=None):
    """A refused rule says why, in the visitor's language (never a bare 403)."""
    from django.shortcuts import render

    reason = getattr(exception, "message", "") if exception is not None else ""
    action_url = getattr(exception, "action_url", "") if exception is not None else ""
    return render(request, "403.html", {"reason": reason, "action_url": action_url}, status=403)
