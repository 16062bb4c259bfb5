"""ASGI entry point: Django over HTTP, the chat socket over WebSocket (uvicorn serves both)."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# The chat socket's database work runs in a thread beside the event loop; when the loop is busy sending
# frames, the thread waits for the interpreter lock after every database round trip for up to this long
# (Python's default is 5 ms, which capped the chat's throughput).
sys.setswitchinterval(float(os.environ.get("ASGI_SWITCH_INTERVAL", "0.001")))

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from common.asgi_limits import BodySizeLimit  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from identity.middleware import SuspendedSocketGate  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(SuspendedSocketGate(URLRouter(websocket_urlpatterns)))
        ),
    }
)
