"""chat_resume: members drop their sockets at random and come back with resume while traffic continues;
Redis is restarted once in the middle of the run.

Target (BENCHMARKS.md): every client ends with every message exactly once, in order.

One uvicorn process (as in ``chat_fanout``) runs against a private ``redis-server`` started here on a
free port, so that it can be restarted: by default without persistence, so that the restart loses the
channel layer's state (its groups and queued wake-ups) as a crash would; ``--persist`` keeps an
append-only file as the production ``docker-compose.yml`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.chat_fanout import BODIES, Server, free_port, load_demo_lexicon, make_group, make_members, progress


class PrivateRedis:
    """A redis-server of our own on a free port, with its data in a temporary directory; ``persist``
    keeps an append-only file across the restart, as the production ``docker-compose.yml`` does."""

    def __init__(self, persist: bool = False):
        self.persist = persist
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="qunzu-bench-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if self.persist else "no",
            "--dir",
            str(self.dir),
        ]
        self.proc = subprocess.Popen(  # noqa: S603
            command, stdout=(self.dir / "log").open("a"), stderr=subprocess.STDOUT
        )
        import redis

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis-server finishes its append-only file and exits
            self.proc.wait(20)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Member:
    """A client as a browser tab runs it: it keeps the messages of the group in sequence order, takes a
    live frame only when it is the next number, and on a gap (or after reconnecting) asks the server to
    ``resume`` after the last number it holds, following ``more``. A sender retries an unanswered
    message with the same ``client_msg_id`` (the server answers a repeat with the original)."""

    def __init__(self, run: ResumeRun, index: int, cookie: str, sends: bool, steady: bool):
        self.run, self.index, self.cookie, self.sends, self.steady = run, index, cookie, sends, steady
        self.rng = random.Random(1000 + index)
        self.ws = None
        self.last = 0
        self.log: list[int] = []  # sequence numbers in the order they were taken
        self.taken_at: dict[int, float] = {}
        self.catching_up = False  # the final resume after the traffic
        self.closed_at: list[float] = []  # when the server closed this client's socket
        self.connected_at: list[float] = []
        self.cmids: dict[int, str] = {}
        self.buffer: dict[int, str] = {}  # live frames past a gap, until the resume fills it
        self.resuming = False
        self.pending: str | None = None  # client_msg_id sent and not yet acknowledged
        self.answered: asyncio.Event | None = None
        self.counts = dict.fromkeys(
            (
                "connects",
                "connect_failures",
                "dropped_by_client",
                "closed_by_server",
                "resumes",
                "gaps",
                "overlap",
                "live",
                "via_resume",
                "at_final_catch_up",
                "live_duplicates",
                "order_violations",
                "sent",
                "retries",
                "acks",
                "duplicate_acks",
                "errors",
            ),
            0,
        )
        self.seen_this_connection: set[int] = set()

    # --- frames

    def take(self, seq: int, cmid: str, via: str) -> None:
        if seq != self.last + 1:
            self.counts["order_violations"] += 1
        self.log.append(seq)
        self.cmids[seq] = cmid
        self.last = seq
        self.taken_at[seq] = time.perf_counter()
        self.counts["at_final_catch_up" if self.catching_up else via] += 1

    async def _send(self, frame: dict) -> bool:
        """Send a frame; False if the socket has closed (the reader sees that and the client reconnects)."""
        from websockets.exceptions import ConnectionClosed

        try:
            await self.ws.send(json.dumps(frame, ensure_ascii=False))
            return True
        except ConnectionClosed:
            return False

    async def request_resume(self) -> None:
        self.resuming = True
        self.counts["resumes"] += 1
        await self._send({"type": "resume", "group": self.run.code, "after": self.last})

    async def on_frame(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "message":
            message = frame["message"]
            seq = message["seq"]
            if seq in self.seen_this_connection:
                self.counts["live_duplicates"] += 1
            self.seen_this_connection.add(seq)
            if seq <= self.last:
                self.counts["overlap"] += 1
            elif seq == self.last + 1 and not self.resuming:
                self.take(seq, message["client_msg_id"], "live")
            else:
                self.buffer[seq] = message["client_msg_id"]
                if not self.resuming:
                    self.counts["gaps"] += 1
                    await self.request_resume()
        elif kind == "history":
            for message in frame["messages"]:
                if message["seq"] == self.last + 1:
                    self.take(message["seq"], message["client_msg_id"], "via_resume")
                elif message["seq"] > self.last + 1:
                    self.counts["order_violations"] += 1
            if frame["more"] and frame["messages"]:
                await self._send({"type": "resume", "group": self.run.code, "after": self.last})
                return
            self.resuming = False
            while self.last + 1 in self.buffer:
                seq = self.last + 1
                self.take(seq, self.buffer.pop(seq), "live")
            self.buffer = {seq: cmid for seq, cmid in self.buffer.items() if seq > self.last}
            if self.buffer:  # still a hole before what is buffered
                await self.request_resume()
        elif kind == "ack":
            if frame["client_msg_id"] == self.pending:
                self.counts["acks"] += 1
                self.counts["duplicate_acks"] += bool(frame.get("duplicate"))
                self.run.acked.setdefault(frame["client_msg_id"], set()).add(frame["seq"])
                self.run.committed_at.setdefault(frame["seq"], time.perf_counter())
                self.pending = None
                self.answered.set()
        elif kind == "error":
            self.counts["errors"] += 1
            self.run.error_codes[frame.get("code", "")] = (
                self.run.error_codes.get(frame.get("code", ""), 0) + 1
            )
            if frame.get("client_msg_id") == self.pending and self.answered is not None:
                self.answered.set()  # retried with the same id

    # --- a connection's life

    async def connect(self) -> bool:
        from websockets.asyncio.client import connect

        server = self.run.server
        try:
            self.ws = await connect(
                server.url("/ws/"),
                origin=server.origin,
                additional_headers={"Cookie": f"sessionid={self.cookie}"},
                compression=None,
                max_size=None,
                max_queue=None,
                ping_interval=None,
                open_timeout=10,
            )
            hello = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if hello.get("type") != "hello" or self.run.code not in hello.get("groups", []):
                raise RuntimeError(f"unexpected first frame {hello}")
        except Exception:
            self.counts["connect_failures"] += 1
            if self.ws is not None:
                await self.ws.close()
            self.ws = None
            return False
        self.counts["connects"] += 1
        self.connected_at.append(time.perf_counter())
        self.resuming, self.buffer, self.seen_this_connection = False, {}, set()
        return True

    async def read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                await self.on_frame(json.loads(raw))
        except ConnectionClosed:
            pass

    async def send_loop(self, interval: float) -> None:
        while not self.run.stop.is_set():
            if self.pending is None:
                self.run.serial += 1
                self.pending = f"r{self.index}-{self.run.serial}"
                self.run.sent.add(self.pending)
                self.counts["sent"] += 1
            else:
                self.counts["retries"] += 1
            self.answered = asyncio.Event()
            frame = {"type": "send", "group": self.run.code, "body": self.rng.choice(BODIES)}
            if not await self._send({**frame, "client_msg_id": self.pending}):
                return
            try:
                await asyncio.wait_for(self.answered.wait(), 10)
            except TimeoutError:
                continue
            await asyncio.sleep(interval if self.pending is None else 0.5)

    async def live(self, interval: float, mean_life: float) -> None:
        """Connect, resume, take traffic (and send) until a random disconnect; again, until the end."""
        while not self.run.stop.is_set():
            if not await self.connect():
                await asyncio.sleep(self.rng.uniform(0.2, 1.0))
                continue
            reader = asyncio.create_task(self.read())
            await self.request_resume()
            tasks = [reader]
            if self.sends:
                tasks.append(asyncio.create_task(self.send_loop(interval)))
            lifetime = 10**6 if self.steady else self.rng.expovariate(1 / mean_life)
            life = asyncio.create_task(asyncio.sleep(lifetime))
            stop = asyncio.create_task(self.run.stop.wait())
            done, _pending = await asyncio.wait([reader, life, stop], return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                self.counts["closed_by_server"] += 1
                self.closed_at.append(time.perf_counter())
            elif life in done:
                self.counts["dropped_by_client"] += 1
            await self.ws.close()
            for task in [*tasks, life, stop]:
                task.cancel()
            await asyncio.gather(*tasks, life, stop, return_exceptions=True)
            if not self.run.stop.is_set():
                await asyncio.sleep(self.rng.uniform(0.1, 1.5))

    async def catch_up(self) -> bool:
        """After the traffic: reconnect and resume until the server has nothing newer."""
        self.catching_up = True
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not await self.connect():
                await asyncio.sleep(0.5)
                continue
            reader = asyncio.create_task(self.read())
            await self.request_resume()
            while self.resuming and time.monotonic() < deadline and not reader.done():
                await asyncio.sleep(0.05)
            await self.ws.close()
            await asyncio.gather(reader, return_exceptions=True)
            if not self.resuming:
                return True
        return False


class ResumeRun:
    def __init__(self, server: Server, code: str, cookies: list[str], senders: int, steady: int):
        self.server, self.code = server, code
        self.committed_at: dict[int, float] = {}  # seq -> when its sender had the ack
        self.restart = (0.0, 0.0)
        self.stop_at = 0.0
        self.stop = asyncio.Event()
        self.serial = 0
        self.sent: set[str] = set()
        self.acked: dict[str, set[int]] = {}
        self.error_codes: dict[str, int] = {}
        self.members = [
            Member(self, i, cookie, sends=i < senders, steady=i >= len(cookies) - steady)
            for i, cookie in enumerate(cookies)
        ]


async def _traffic(run: ResumeRun, redis: PrivateRedis, seconds: float, interval: float, mean_life: float):
    tasks = [asyncio.create_task(m.live(interval, mean_life)) for m in run.members]
    await asyncio.sleep(seconds / 2)
    progress("restarting Redis")
    restart = time.perf_counter()
    await asyncio.to_thread(redis.stop)
    await asyncio.to_thread(redis.start)
    run.restart = (restart, time.perf_counter())
    downtime = time.perf_counter() - restart
    progress(f"Redis back after {downtime:.2f} s")
    await asyncio.sleep(seconds / 2)
    run.stop.set()
    run.stop_at = time.perf_counter()
    await asyncio.gather(*tasks)
    caught_up = await asyncio.gather(*(m.catch_up() for m in run.members))
    return downtime, caught_up


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="16 s of traffic instead of 60 s")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--steady", type=int, default=10, help="clients that never drop their socket")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--interval", type=float, default=0.25, help="each sender's pause between messages")
    parser.add_argument("--persist", action="store_true", help="Redis keeps an append-only file")
    parser.add_argument("--mean-life", type=float, default=6.0, help="mean seconds a socket lives")
    args = parser.parse_args(argv)
    seconds = args.seconds or (16.0 if args.quick else 60.0)

    from bench.harness import print_table, setup_django, write_results

    redis = PrivateRedis(persist=args.persist)
    redis.start()
    outer_redis_url = os.environ.get("REDIS_URL")
    # The set-up's cache writes go to the private server too, if Django is set up here.
    os.environ["REDIS_URL"] = redis.url
    try:
        setup_django()
        from django.db import connection

        from groups.models import Message

        load_demo_lexicon()
        members = make_members(args.clients, prefix="resume")
        group_id, code = make_group([pk for pk, _c in members], name="断线重连群")
        connection.close()
        server = Server(redis.url).start()
        run = ResumeRun(server, code, [c for _pk, c in members], args.senders, args.steady)
        try:
            started = time.perf_counter()
            downtime, caught_up = asyncio.run(_traffic(run, redis, seconds, args.interval, args.mean_life))
            elapsed = time.perf_counter() - started
        finally:
            errors = server.errors()
            server.stop()
        rows = list(
            Message.objects.filter(group_id=group_id).order_by("seq").values_list("seq", "client_msg_id")
        )
        connection.close()
    finally:
        redis.cleanup()
        if outer_redis_url is None:
            os.environ.pop("REDIS_URL", None)
        else:
            os.environ["REDIS_URL"] = outer_redis_url

    from bench.harness import percentile

    db_seqs = [seq for seq, _cmid in rows]
    db_cmids = dict(rows)
    stored_cmids = set(db_cmids.values())
    expected = list(range(1, len(rows) + 1))
    exact = [m.log == expected and all(m.cmids[s] == db_cmids[s] for s in m.log) for m in run.members]
    totals = {key: sum(m.counts[key] for m in run.members) for key in run.members[0].counts}
    each_ack_one_seq = all(len(seqs) == 1 for seqs in run.acked.values())
    acked_in_db = sum(1 for cmid in run.acked if cmid in stored_cmids)
    # How long until each client held each message (from its sender's ack), over the traffic.
    delays = [
        m.taken_at[seq] - at
        for m in run.members
        for seq, at in run.committed_at.items()
        if seq in m.taken_at and m.taken_at[seq] <= run.stop_at
    ]
    # The clients that never dropped their socket: what they saw after the restart.
    restart_start, restart_end = run.restart
    later = [seq for seq, at in run.committed_at.items() if restart_end + 2 < at < run.stop_at - 2]
    steady = [m for m in run.members if m.steady]
    closed_at_restart = sum(
        1 for m in steady if any(restart_start <= t <= restart_end + 5 for t in m.closed_at)
    )
    silent = [
        m for m in steady if later and all(m.taken_at.get(seq, float("inf")) > run.stop_at for seq in later)
    ]
    stale_s = [
        max(m.taken_at[seq] - run.committed_at[seq] for seq in later if seq in m.taken_at)
        for m in steady
        if later
    ]
    results = {
        "clients": args.clients,
        "senders": args.senders,
        "steady_clients": args.steady,
        "mean_socket_life_s": args.mean_life,
        "seconds": seconds,
        "elapsed_s": round(elapsed, 1),
        "redis_persistence": "append-only file" if args.persist else "none (state lost at the restart)",
        "redis_downtime_s": round(downtime, 2),
        "messages_in_database": len(rows),
        "database_gapless": db_seqs == expected,
        "messages_sent": len(run.sent),
        "messages_acked": len(run.acked),
        "acked_found_in_database": acked_in_db,
        "each_ack_one_seq": each_ack_one_seq,
        "clients_caught_up": sum(caught_up),
        "clients_exactly_once_in_order": sum(exact),
        "target_ok": all(exact) and all(caught_up) and db_seqs == expected and acked_in_db == len(run.acked),
        "time_to_hold_message_s": {
            "p50": round(percentile(delays, 0.5), 3),
            "p99": round(percentile(delays, 0.99), 3),
            "max": round(max(delays, default=0), 3),
        },
        "steady_closed_by_server_at_restart": closed_at_restart,
        "steady_without_live_messages_after_restart": len(silent),
        "steady_worst_wait_after_restart_s": round(max(stale_s, default=0), 2),
        "totals": totals,
        "error_codes": run.error_codes,
        "server_error_lines": len(errors),
    }
    t = totals
    rows_out = [
        (
            "clients (senders, never dropping)",
            f"{args.clients} ({args.senders}, {args.steady})",
            f"{seconds:g} s",
        ),
        ("messages stored, gapless", len(rows), str(results["database_gapless"])),
        (
            "messages sent / acknowledged",
            f"{len(run.sent)} / {len(run.acked)}",
            f"{acked_in_db} acked stored",
        ),
        (
            "connections / dropped by client / closed by server",
            f"{t['connects']} / {t['dropped_by_client']} / {t['closed_by_server']}",
            f"failed connects {t['connect_failures']}",
        ),
        ("Redis restarted, down for (s)", results["redis_downtime_s"], results["redis_persistence"]),
        (
            "taken live / by resume / at the final catch-up",
            f"{t['live']} / {t['via_resume']} / {t['at_final_catch_up']}",
            f"resumes {t['resumes']}, gaps seen {t['gaps']}, overlap dropped {t['overlap']}",
        ),
        (
            "time until a client holds a message (s)",
            "p50 {p50} p99 {p99} max {max}".format(**results["time_to_hold_message_s"]),
        ),
        (
            "never-dropping clients after the restart",
            f"closed by server {closed_at_restart} of {args.steady}; "
            f"no live message again {len(silent)} of {args.steady}",
            f"worst wait {results['steady_worst_wait_after_restart_s']} s",
        ),
        (
            "sends retried / answered as duplicates",
            f"{t['retries']} / {t['duplicate_acks']}",
            f"errors {run.error_codes}",
        ),
        ("live duplicates within one connection", t["live_duplicates"]),
        (
            "every client every message exactly once, in order",
            f"{sum(exact)} of {args.clients}",
            "ok" if results["target_ok"] else "MISSED",
        ),
        ("server error lines logged", len(errors)),
    ]
    print_table("chat_resume", rows_out)
    write_results("chat_resume", results)
    return results


if __name__ == "__main__":
    main()
