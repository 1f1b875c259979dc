"""Every WebSocket route of the project, in one list."""

from django.urls import path

from securechat.consumers import HealthConsumer

websocket_urlpatterns = [
    path("ws/healthz/", HealthConsumer.as_asgi()),
]
