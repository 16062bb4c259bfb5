from django.apps import AppConfig
from django.core import checks


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self):
        checks.register(signing_key_configured, checks.Tags.security, deploy=True)


def signing_key_configured(app_configs=None, **kwargs):
    """R11.4: reports to the authorities are signed; without a key none could be delivered."""
    from reports import signing

    if signing.keys():
        return []
    return [
        checks.Error(
            "REPORTS_SIGNING_KEYS has no key: regulator reports cannot be signed or delivered.",
            hint="Set REPORTS_SIGNING_KEYS to 'kid:secret' (32+ random characters).",
            id="reports.E001",
        )
    ]
