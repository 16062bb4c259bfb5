from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    # The notices it sends (moderation.complaint_received, moderation.complaint_decided) are registered
    # with the others in notifications.kinds.

    def ready(self):
        from audit.services import register_retention_purger
        from moderation.services import complaints_purge_expired

        register_retention_purger("evidence_snapshots", complaints_purge_expired)
        from moderation import queue_appeals  # noqa: F401  (registers the queue's appeal source)
