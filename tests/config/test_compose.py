"""The production shape in docker-compose.yml (no Docker engine on the CI machines: checked as data)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_has_database_redis_web_worker_and_beat_with_health_checks():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("db", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert services["web"]["environment"]["DJANGO_ENV"] == "production"
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_dockerfile_installs_from_the_lock_and_serves_with_several_uvicorn_workers():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen --no-dev" in dockerfile
    assert '"uvicorn", "config.asgi:application"' in dockerfile
    assert '"--workers", "4"' in dockerfile


def test_compose_keeps_attachments_in_a_private_minio_bucket():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert "healthcheck" in services["minio"]
    assert "attachments:/data" in services["minio"]["volumes"]
    environment = services["web"]["environment"]
    assert (
        environment["ATTACHMENT_STORAGE"] == "s3"
        and environment["ATTACHMENT_S3_ENDPOINT"] == "http://minio:9000"
    )
    assert "mc anonymous set none" in " ".join(services["minio-bucket"]["entrypoint"])
    assert "9000" not in " ".join(services["minio"].get("ports", []))  # browsers never reach the bucket
