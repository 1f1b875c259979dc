from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("rooms/", views.chat_page, name="app"),
    path("rooms/<uuid:room_id>/", views.chat_page, name="room"),
    path("join/", views.join_link_page, name="join-link"),
    path("join/<str:token>/", views.join_page, name="join"),
    path("api/rooms", views.rooms, name="api-rooms"),
    path("api/rooms/<str:room_id>", views.room_detail, name="api-room"),
    path("api/rooms/<str:room_id>/roster", views.room_roster, name="api-roster"),
    path("api/rooms/<str:room_id>/leave", views.leave, name="api-leave"),
    path("api/rooms/<str:room_id>/accept", views.accept, name="api-accept"),
    path("api/rooms/<str:room_id>/decline", views.decline, name="api-decline"),
    path("api/invitations", views.invitations, name="api-invitations"),
    path("api/links/<str:key>", views.link, name="api-link"),
    path("api/join/<str:token>", views.join, name="api-join"),
    path("api/keys", views.public_keys_by_ids, name="api-keys-by-ids"),
    path("api/key-history", views.key_history, name="api-key-history"),
]
