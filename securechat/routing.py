"""Every WebSocket route of the project, in one list."""

from django.urls import path

from chat.consumers import ChatConsumer
from securechat.consumers import HealthConsumer

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
    path("ws/healthz/", HealthConsumer.as_asgi()),
]
