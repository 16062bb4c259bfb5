from django.core.checks import Error, Tags, Warning, register


@register()
def field_encryption_keys(app_configs, **kwargs):
    """The personal-information keys must load before anything is stored with them (R6.3)."""
    from django.core.exceptions import ImproperlyConfigured

    from common import crypto

    try:
        crypto._keys()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="common.E001", hint="`manage.py generate_field_key` prints a valid key")]
    return []


@register(Tags.security, deploy=True)
def sms_backend_sends(app_configs, **kwargs):
    """Codes printed to the console reach nobody and leak phone numbers into logs."""
    from django.conf import settings

    if settings.SMS_BACKEND.endswith("ConsoleBackend"):
        return [
            Warning(
                "SMS_BACKEND prints codes instead of sending them",
                id="common.W001",
                hint="set SMS_BACKEND to your provider's backend",
            )
        ]
    return []
