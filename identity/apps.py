from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"

    def ready(self):
        from audit.services import register_retention_purger
        from identity import signals  # noqa: F401
        from identity.services import accounts_erase_expired

        register_retention_purger("retention_locked_accounts", accounts_erase_expired)
