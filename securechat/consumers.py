"""WebSocket health probe: proves the WebSocket stack (origin check, session) answers."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class HealthConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()
        await self.send_json({"status": "ok"})
        await self.close()
