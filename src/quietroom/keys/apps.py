from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "quietroom.keys"
    label = "keys"
