from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "quietroom.realtime"
    label = "realtime"
