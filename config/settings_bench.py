"""Settings for the socket benchmarks (``bench/chat_*.py``): the project's settings, plus the bare echo
socket route that the fan-out benchmark measures against, and without DEBUG (which would keep every SQL
query of a long-running server in memory). Never used by a deployment."""

from config.settings import *  # noqa: F403

CHAT_BENCH_ECHO_ROUTE = True
DEBUG = False
