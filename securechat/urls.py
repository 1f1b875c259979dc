from django.contrib import admin
from django.urls import include, path

from securechat import views
from toolkit import api

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("accounts.urls")),
    path("", include("chat.urls")),
    path("admin/", admin.site.urls),
]

handler404 = api.not_found
