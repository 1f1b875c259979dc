from django.apps import AppConfig
from django.db.models.signals import post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import usernames
        from accounts.models import User

        post_save.connect(usernames.claim_keys, sender=User, dispatch_uid="accounts.usernames.claim_keys")
