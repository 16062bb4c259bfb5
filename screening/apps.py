from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "screening"

    def ready(self):
        from audit.services import register_retention_purger
        from screening.services import evidence_purge_expired

        register_retention_purger("evidence_snapshots", evidence_purge_expired)
