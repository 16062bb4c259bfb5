"""Stop early, with a clear message, when the test services cannot be reached (never skip them)."""

import os
import sys

import psycopg
import redis

database_url = os.environ.get("DATABASE_URL", "")
redis_url = os.environ.get("REDIS_URL", "")
problems = []

if not database_url.startswith("postgres"):
    problems.append(f"DATABASE_URL must point at PostgreSQL for the tests (got {database_url!r}).")
else:
    try:
        psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), connect_timeout=5).close()
    except psycopg.Error as exc:
        problems.append(
            f"PostgreSQL is not reachable at {database_url}: {exc}\n"
            "  Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
            "  or, with Docker: docker compose up -d db"
        )
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
except (redis.RedisError, ValueError) as exc:
    problems.append(
        f"Redis is not reachable at {redis_url!r}: {exc}\n"
        '  Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no\n'
        "  or, with Docker: docker compose up -d redis"
    )

if problems:
    print("The tests need PostgreSQL and Redis; they are never skipped.\n", file=sys.stderr)
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"services ok: PostgreSQL ({database_url}), Redis ({redis_url})")
