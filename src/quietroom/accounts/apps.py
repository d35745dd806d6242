from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "quietroom.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from quietroom.accounts import notices, signals  # noqa: PLC0415 - models must be loaded first

        notices.connect()  # before the audit receivers: it reads the sign-ins before this one
        signals.connect()
