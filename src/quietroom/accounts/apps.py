from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "quietroom.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from quietroom.accounts import signals  # noqa: PLC0415 - models must be loaded first

        signals.connect()
