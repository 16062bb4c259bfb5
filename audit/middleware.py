"""R13.2: each HTTP request of a signed-in user leaves a network-log row (address, port, path, status).

When the database cannot be reached the row cannot be written: the failure is handed to
``common.unavailable`` (the request answers 503, never 500), which logs the row's fields to the Python
logger ``audit.network`` at WARNING instead. Any other failure is still an error.
"""

from audit.models import NetworkLogKind
from audit.services import network_log_write
from common.actors import Actor
from common.unavailable import database_unavailable, is_unavailable, mark_unavailable


class NetworkLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if database_unavailable(request):  # known to be out of reach: do not wait for it again
            return response
        try:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                network_log_write(
                    actor=Actor.from_request(request),
                    kind=NetworkLogKind.HTTP,
                    method=request.method[:8],
                    path=request.path.replace("\x00", "")[:300],
                    status=response.status_code,
                )
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            mark_unavailable(request, exc)
        return response
