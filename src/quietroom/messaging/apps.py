from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "quietroom.messaging"
    label = "messaging"
