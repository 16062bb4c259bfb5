"""R11.4: a deployment without a report signing key is caught by ``check --deploy``, not by a failing job."""

from reports.apps import signing_key_configured


def test_r11_4_deploy_check_requires_a_signing_key(settings):
    settings.REPORTS_SIGNING_KEYS = ""
    assert [error.id for error in signing_key_configured()] == ["reports.E001"]
    settings.REPORTS_SIGNING_KEYS = "k1:" + "s" * 40
    assert signing_key_configured() == []


def test_r11_4_deploy_check_refuses_weak_or_development_keys_in_production(settings):
    settings.DEBUG = False
    settings.REPORTS_SIGNING_KEYS = "k1:" + "s" * 31  # 31 bytes
    assert [error.id for error in signing_key_configured()] == ["reports.E001"]
    settings.REPORTS_SIGNING_KEYS = "dev-1:development-only-report-signing-key"  # the documented default
    assert [error.id for error in signing_key_configured()] == ["reports.E001"]
    settings.REPORTS_SIGNING_KEYS = "k2:" + "s" * 40 + ",dev-1:development-only-report-signing-key"
    assert [error.id for error in signing_key_configured()] == ["reports.E001"]  # a weak verifying key too
    settings.REPORTS_SIGNING_KEYS = "k1:" + "s" * 32
    assert signing_key_configured() == []
    # In development (DEBUG on) the development key is what it is for.
    settings.DEBUG = True
    settings.REPORTS_SIGNING_KEYS = "dev-1:development-only-report-signing-key"
    assert signing_key_configured() == []
