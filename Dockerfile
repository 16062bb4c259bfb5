# Production image: dependencies from uv.lock, static files collected, served by uvicorn.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .

ENV DJANGO_ENV=production
# collectstatic needs settings that load; these values exist only for this build step.
RUN DJANGO_SECRET_KEY="collectstatic-only-$(python -c 'import secrets; print(secrets.token_urlsafe(48))')" \
    DJANGO_ALLOWED_HOSTS=build.invalid DJANGO_STATIC_ROOT=/app/staticfiles \
    python manage.py collectstatic --noinput \
 && useradd --system --home /app app && chown -R app /app
USER app

EXPOSE 8000
# Client address and source port (R13.2) come from X-Forwarded-For / X-Client-Port only when the request
# came from a proxy listed in TRUSTED_PROXIES (Django reads them, so the port survives too).
# A chat frame is at most about 25,000 characters (groups.consumers.FRAME_MAX_CHARS): 1 MiB refuses a larger
# one at the protocol level (close 1009) before it is buffered, instead of uvicorn's 16 MiB.
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "4", \
     "--lifespan", "off", "--ws-max-size", "1048576"]
