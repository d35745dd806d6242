from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "quietroom.directory"
    label = "directory"
