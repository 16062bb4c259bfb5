from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    # The notices it sends (moderation.complaint_received, moderation.complaint_decided) are registered
    # with the others in notifications.kinds.
