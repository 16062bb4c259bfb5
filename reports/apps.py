from django.apps import AppConfig
from django.core import checks

# The development default of REPORTS_SIGNING_KEYS (README, config/settings.py): never a production key.
DEVELOPMENT_SECRETS = frozenset({b"development-only-report-signing-key"})
MIN_SECRET_BYTES = 32


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self):
        checks.register(signing_key_configured, checks.Tags.security, deploy=True)


def signing_key_configured(app_configs=None, **kwargs):
    """R11.4: reports to the authorities are signed; without a key none could be delivered, and in
    production (DEBUG off) a short key or the development default would let anyone forge them."""
    from django.conf import settings

    from reports import signing

    configured = signing.keys()
    if not configured:
        return [
            checks.Error(
                "REPORTS_SIGNING_KEYS has no key: regulator reports cannot be signed or delivered.",
                hint="Set REPORTS_SIGNING_KEYS to 'kid:secret' (32+ random characters).",
                id="reports.E001",
            )
        ]
    if settings.DEBUG:
        return []
    weak = sorted(
        kid
        for kid, secret in configured.items()
        if len(secret) < MIN_SECRET_BYTES or secret in DEVELOPMENT_SECRETS
    )
    if weak:
        return [
            checks.Error(
                f"REPORTS_SIGNING_KEYS has a weak key ({', '.join(weak)}): shorter than {MIN_SECRET_BYTES} "
                "bytes or the development default.",
                hint="Set REPORTS_SIGNING_KEYS to 'kid:secret' with a new secret of 32+ random bytes.",
                id="reports.E001",
            )
        ]
    return []
