"""ASGI entry point: HTTP to Django, WebSocket through the origin check and the session.

Read the WebSocket stack outside in: a socket from a foreign origin is refused before
anything else runs; then the session cookie names the user; then the URL picks the
consumer.
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "securechat.settings")
# Set up Django (apps, settings) before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from securechat import patches  # noqa: E402
from securechat.routing import websocket_urlpatterns  # noqa: E402
from securechat.socket_auth import socket_auth_stack  # noqa: E402

patches.install()  # daphne's frames sent when written, without per-frame log formatting

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(socket_auth_stack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything loaded so far (Django, the apps, the URL patterns) lives as long as the worker: out of the collector's
# sight, a full collection scans only what came later (docs/PERFORMANCE.md, ``make bench-paths``, "gc" rows).
gc.freeze()
