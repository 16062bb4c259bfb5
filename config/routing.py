"""WebSocket routes. Every route here must have rows in the authorization table (tests/architecture)."""

from django.conf import settings
from django.urls import path

from groups.consumers import BenchEchoConsumer, BenchHubEchoConsumer, ChatConsumer

websocket_urlpatterns = [
    path("ws/", ChatConsumer.as_asgi(), name="ws-chat"),
]

if settings.CHAT_BENCH_ECHO_ROUTE:  # the fan-out benchmark's baseline; never on in a deployment
    websocket_urlpatterns += [
        path("ws/bench-echo/", BenchEchoConsumer.as_asgi(), name="ws-bench-echo"),
        # For information: the same relay over the chat path's own fan-out.
        path("ws/bench-echo-hub/", BenchHubEchoConsumer.as_asgi(), name="ws-bench-echo-hub"),
    ]
