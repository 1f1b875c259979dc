from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("rooms/", views.chat_page, name="app"),
    path("rooms/<uuid:room_id>/", views.chat_page, name="room"),
    path("join/<str:token>/", views.join_page, name="join"),
    path("api/rooms", views.rooms, name="api-rooms"),
    path("api/rooms/<str:room_id>", views.room_detail, name="api-room"),
    path("api/rooms/<str:room_id>/members", views.add_member, name="api-add-member"),
    path("api/rooms/<str:room_id>/members/<str:username>", views.remove_member, name="api-remove-member"),
    path("api/rooms/<str:room_id>/leave", views.leave, name="api-leave"),
    path("api/rooms/<str:room_id>/invite", views.invite_link, name="api-invite"),
    path("api/join/<str:token>", views.join, name="api-join"),
    path("api/direct", views.direct, name="api-direct"),
]
