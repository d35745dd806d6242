from django.apps import AppConfig


class PracticesConfig(AppConfig):
    name = "quietroom.practices"
    label = "practices"
