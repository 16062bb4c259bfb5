"""R11.4: a deployment without a report signing key is caught by ``check --deploy``, not by a failing job."""

from reports.apps import signing_key_configured


def test_r11_4_deploy_check_requires_a_signing_key(settings):
    settings.REPORTS_SIGNING_KEYS = ""
    assert [error.id for error in signing_key_configured()] == ["reports.E001"]
    settings.REPORTS_SIGNING_KEYS = "k1:" + "s" * 40
    assert signing_key_configured() == []
