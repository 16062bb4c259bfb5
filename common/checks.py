from django.core.checks import Error, register


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
