from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.signup_page, name="signup"),
    path("accounts/login/", views.login_page, name="login"),
    path("accounts/logout/", views.logout_form, name="logout"),
    path("accounts/password/", views.password_page, name="password"),
    path("accounts/recover/", views.recover_page, name="recover"),
    path("accounts/reset/", views.reset_page, name="reset"),
    path("api/accounts/signup", views.signup, name="api-signup"),
    path("api/accounts/prelogin", views.prelogin, name="api-prelogin"),
    path("api/accounts/login", views.login_api, name="api-login"),
    path("api/accounts/logout", views.logout_api, name="api-logout"),
    path("api/accounts/me", views.me, name="api-me"),
    path("api/accounts/password", views.change_password, name="api-password"),
    path("api/accounts/reset", views.reset_identity, name="api-reset"),
    path("api/accounts/trust", views.trust_store, name="api-trust"),
    path("api/accounts/recover/begin", views.recover_begin, name="api-recover-begin"),
    path("api/accounts/recover/finish", views.recover_finish, name="api-recover-finish"),
    path("api/keys/<str:username>", views.public_keys, name="api-keys"),
]
