from django.contrib.admin.apps import AdminConfig


class SecureChatAdminConfig(AdminConfig):
    default_site = "securechat.admin.SecureChatAdminSite"
