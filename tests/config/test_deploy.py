"""Production settings demand real secrets and pass Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "k3J9!xq2Lz8#pW4vR7@tY1&nB6^mC0*sD5(fG8)hJ2-lK4=zX7+aQ9",
    "DJANGO_ALLOWED_HOSTS": "chat.example.cn",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "FIELD_ENCRYPTION_KEYS": "k1:" + "A" * 43,
    "FIELD_HASH_KEY": "h" * 40,
    "SMS_BACKEND": "common.sms.FileBackend",
    "AUDIT_DIGEST_KEY": "d" * 40,
    "REPORTS_SIGNING_KEYS": "r1:" + "r" * 40,
}


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_production_settings_pass_check_deploy_at_warning_level():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_without_secret_key_refuses_to_start():
    env = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_without_field_keys_refuses_to_start():
    env = {**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start():
    env = {**PRODUCTION_ENV, "DJANGO_ALLOWED_HOSTS": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


PROBE = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings as s
print(s.DATABASES["default"]["ENGINE"], s.CHANNEL_LAYERS["default"]["BACKEND"], s.CELERY_TASK_ALWAYS_EAGER)
"""


def test_embedded_default_runs_without_any_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["SQLITE_PATH"] = str(tmp_path / "embedded.sqlite3")
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "True",
    ]


def test_r11_4_production_without_a_report_signing_key_fails_check_deploy():
    env = {**PRODUCTION_ENV, "REPORTS_SIGNING_KEYS": ""}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "reports.E001" in result.stdout + result.stderr


SECURITY_PROBE = """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings as s
print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE,
      s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.X_FRAME_OPTIONS, s.DEBUG)
"""


def test_production_sends_hsts_and_secure_cookies_and_refuses_framing():
    """Issue 13's security settings, read from the production configuration itself (``check --deploy``
    above proves Django agrees they are safe)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "-c", SECURITY_PROBE],
        cwd=ROOT,
        env={**clean, **PRODUCTION_ENV},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    hsts, subdomains, redirect, session_secure, csrf_secure, http_only, frame, debug = result.stdout.split()
    assert int(hsts) >= 31536000 and subdomains == "True" and redirect == "True"
    assert (session_secure, csrf_secure, http_only) == ("True", "True", "True")
    assert frame == "DENY" and debug == "False"
