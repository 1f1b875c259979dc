"""ASGI entry point: HTTP to Django, WebSocket through the origin check and the session.

Read the stack outside in: for both, the client's address and scheme are decided first (the TCP peer, or what a
trusted proxy says); a socket from another origin is refused before anything else runs; then the session cookie
names the user; then the URL picks the consumer.
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securechat.settings")
# Set up Django (apps, settings) before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from securechat import patches  # noqa: E402
from securechat.proxy_headers import ProxyHeaders  # noqa: E402
from securechat.routing import websocket_urlpatterns  # noqa: E402
from securechat.socket_auth import socket_auth_stack  # noqa: E402
from securechat.websocket_origin import SameOriginOnly  # noqa: E402

patches.install()  # daphne's frames sent when written, without per-frame log formatting; its pongs bounded

application = ProxyHeaders(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": SameOriginOnly(socket_auth_stack(URLRouter(websocket_urlpatterns))),
        }
    )
)

# Everything loaded so far (Django, the apps, the URL patterns) lives as long as the worker: out of the collector's
# sight, a full collection scans only what came later (docs/PERFORMANCE.md, ``make bench-paths``, "gc" rows).
gc.freeze()
