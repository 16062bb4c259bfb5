from django.core.checks import Error, register


@register()
def retention_floor(app_configs, **kwargs):
    """R13.2: no configuration may shorten log retention below six months."""
    from django.conf import settings

    from audit.services import RETENTION_FLOOR_DAYS

    return [
        Error(
            f"RETENTION_DAYS[{name!r}] is {days}: records must be kept at least {RETENTION_FLOOR_DAYS} days",
            id="audit.E001",
            hint="Cybersecurity Law art. 21 (art. 23 from 2026)",
        )
        for name, days in settings.RETENTION_DAYS.items()
        if int(days) < RETENTION_FLOOR_DAYS
    ]
