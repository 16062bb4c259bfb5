"""R13.2: each HTTP request of a signed-in user leaves a network-log row (address, port, path, status)."""

from audit.models import NetworkLogKind
from audit.services import network_log_write
from common.actors import Actor


class NetworkLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            network_log_write(
                actor=Actor.from_request(request),
                kind=NetworkLogKind.HTTP,
                method=request.method[:8],
                path=request.path.replace("\x00", "")[:300],
                status=response.status_code,
            )
        return response
