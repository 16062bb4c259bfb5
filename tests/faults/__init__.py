"""Fault injection (issue 13): each test injects a real fault and checks that nothing is lost.

- Redis restarted during chat: tests/groups/test_redis_restart.py.
- The chat socket's database connection dropped: tests/groups/test_send_path.py
  (``test_socket_recovers_from_a_dropped_database_connection``).
- The database out of reach for pages and the API, in process and under uvicorn:
  tests/faults/test_database_down.py.
- A Celery worker killed mid-task: tests/faults/test_worker_killed.py.
- The regulator's endpoint down for hours: tests/faults/test_regulator_down.py.
"""
