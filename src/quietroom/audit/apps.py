from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "quietroom.audit"
    label = "audit"
