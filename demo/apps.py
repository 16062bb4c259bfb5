from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for a first look at the platform; calls the same services as every other door."""

    name = "demo"
