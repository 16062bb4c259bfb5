"""chat_memory: memory of the uvicorn server process per open chat socket, with 500 idle authenticated
connections.

Target (the fan-out design): <= 200 KB a connection. RSS (VmRSS of /proc/<pid>/status) before connecting
and after all are connected and idle for a few seconds; per connection = difference / connections. The
bare echo route is measured the same way in a second server process, for information.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from bench.chat_fanout import Bench, Server, make_group, make_members, progress, redis_flush, rss_kb


async def _measure(server: Server, kind: str, cookies: list[str], code: str, idle: float) -> dict:
    # Warm-up: the first connections load code and open the database connection; not what is measured.
    warm = Bench([server], kind, cookies[:5], code)
    await warm.open()
    await warm.close()
    await asyncio.sleep(1.0)
    started_kb = rss_kb(server.pid)
    bench = Bench([server], kind, cookies, code)
    connect_s = await bench.open()
    connected_kb = rss_kb(server.pid)
    await asyncio.sleep(idle)
    idle_kb = rss_kb(server.pid)
    still_open = sum(1 for s in bench.sockets if s.open_now)
    await bench.close()
    await asyncio.sleep(1.0)
    closed_kb = rss_kb(server.pid)
    n = len(cookies)
    return {
        "connections": n,
        "connect_s": round(connect_s, 2),
        "rss_before_kb": started_kb,
        "rss_connected_kb": connected_kb,
        "rss_idle_kb": idle_kb,
        "rss_after_close_kb": closed_kb,
        "per_connection_kb": round((idle_kb - started_kb) / n, 1),
        "closed_by_server_while_idle": n - still_open,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 connections")
    parser.add_argument("--connections", type=int, default=None)
    parser.add_argument("--idle", type=float, default=None, help="seconds idle before measuring")
    args = parser.parse_args(argv)
    n = args.connections or (100 if args.quick else 500)
    idle = args.idle or (3.0 if args.quick else 5.0)

    from bench.harness import bench_redis_url, print_table, setup_django, write_results

    redis_url = os.environ["REDIS_URL"] = bench_redis_url()
    setup_django()
    redis_flush(redis_url)
    members = make_members(n, prefix="memory")
    _group_id, code = make_group([pk for pk, _c in members], name="内存群")
    cookies = [c for _pk, c in members]
    from django.db import connection

    connection.close()
    results = {"connections": n, "idle_s": idle}
    for kind in ("chat", "echo"):
        redis_flush(redis_url)
        server = Server(redis_url).start()
        try:
            time.sleep(1.0)
            results[f"rss_at_start_kb_{kind}"] = rss_kb(server.pid)
            results[kind] = asyncio.run(
                _measure(server, kind, cookies if kind == "chat" else [""] * n, code, idle)
            )
        finally:
            server.stop()
        progress(f"{kind}: {results[kind]}")
    chat = results["chat"]
    results["target_kb"] = 200
    results["target_ok"] = chat["per_connection_kb"] <= 200
    print_table(
        "chat_memory",
        [
            ("uvicorn RSS at start (MB)", round(results["rss_at_start_kb_chat"] / 1024, 1)),
            ("RSS before connecting, after a warm-up (MB)", round(chat["rss_before_kb"] / 1024, 1)),
            (f"RSS with {n} chat sockets idle {idle:g} s (MB)", round(chat["rss_idle_kb"] / 1024, 1)),
            (
                "per chat connection (KB, target <= 200)",
                chat["per_connection_kb"],
                "ok" if results["target_ok"] else "MISSED",
            ),
            ("per bare echo connection (KB, information)", results["echo"]["per_connection_kb"]),
            ("chat sockets closed by the server while idle", chat["closed_by_server_while_idle"]),
            ("RSS after closing them all (MB)", round(chat["rss_after_close_kb"] / 1024, 1)),
        ],
    )
    write_results("chat_memory", results)
    return results


if __name__ == "__main__":
    main()
