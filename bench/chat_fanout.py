"""chat_fanout: one uvicorn process, the Redis channel layer, PostgreSQL; N members of one group each hold a
chat socket, senders post through the real chat path; against the bare echo route in the same run.

Targets (BENCHMARKS.md): saturation throughput >= 0.7 x bare; at a fixed 100 msg/s into 50 clients,
p99 <= 2 x bare p99; zero lost, zero duplicated (every client ends with every seq exactly once).

The socket benchmarks (``chat_resume``, ``chat_memory``) share the set-up here: members, a group, the
server process and the client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_PASSWORD = "Bench-pass-2026"  # noqa: S105 (accounts of the throwaway benchmark database)
PER_MINUTE = 30_000  # every credit level's messages a minute in the bench database (the limit stays on)
BODIES = [
    "今天下午三点开会，记得带上周的报表。",
    "收到，我马上到。",
    "周末一起去爬山吗？天气预报说是晴天。",
    "这本书的第二部分写得特别好，推荐大家读一读。",
    "小区门口新开了一家面馆，味道不错。",
    "Meeting moved to 4pm, see you there.",
    "明天上午九点停水两小时，请提前储水。",
    "谢谢大家的帮助！",
]


# --- set-up: members, a group, sessions -----------------------------------------------------------------


def redis_flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def _id_number(n: int) -> str:
    from identity.idnumber import check_character

    body = f"110105{19700101 + n // 1000:08d}{n % 1000:03d}"  # 1970-01-01.. one birth date per thousand
    return body + check_character(body)


def make_members(count: int, *, prefix: str = "bench") -> list[tuple[int, str]]:
    """``count`` verified accounts at the top credit level, each signed in: (user id, session cookie).

    Accounts go through the identity services (agreements, real-name verification with the fake
    verifier); the score is then set to the top level's and every level's messages a minute raised to
    ``PER_MINUTE``, so that the rate limit (still checked on every message) does not refuse the senders.
    """
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client

    from common.actors import Actor, Door
    from credit.models import CreditAccount, CreditLevel
    from credit.selectors import grid_cache_refresh
    from identity import services as identity_services

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # set-up speed only
    cli = Actor.system(door=Door.CLI)
    start = get_user_model().objects.count()
    members = []
    for i in range(count):
        user = identity_services.user_create(
            actor=cli,
            username=f"{prefix}{start + i}",
            password=BENCH_PASSWORD,
            nickname=f"成员{start + i}",
        )
        as_user = Actor.for_user(user, door=Door.CLI)
        cache.delete(f"verify-attempts:{user.pk}")  # ids repeat from one fresh database to the next
        identity_services.agreement_accept(actor=as_user)
        identity_services.verification_submit(
            actor=as_user, real_name="测试用户", id_number=_id_number(start + i), consent=True
        )
        client = Client()
        client.force_login(user)
        members.append((user.pk, client.cookies[settings.SESSION_COOKIE_NAME].value))
    top = CreditLevel.objects.order_by("-min_score").first()
    CreditAccount.objects.filter(user_id__in=[pk for pk, _c in members]).update(score=top.min_score)
    CreditLevel.objects.update(messages_per_minute=PER_MINUTE)
    grid_cache_refresh()
    return members


def make_group(member_ids: list[int], name: str = "压测群") -> tuple[int, str]:
    """A group created by the first member through the services; the others added as plain members
    (bulk: joining is not what is measured). Returns (group id, code)."""
    from django.contrib.auth import get_user_model

    from common.actors import Actor, Door
    from groups import services as group_services
    from groups.models import Membership

    owner = get_user_model().objects.get(pk=member_ids[0])
    group = group_services.group_create(actor=Actor.for_user(owner, door=Door.WEB), name=name)
    Membership.objects.bulk_create([Membership(group=group, user_id=pk) for pk in member_ids[1:]])
    return group.pk, group.code


def load_demo_lexicon() -> int:
    """The demonstration lexicon of ``make run``, so that screening has terms to look for."""
    from common.actors import Actor, Door
    from screening import services as screening_services

    text = (ROOT / "demo" / "data" / "lexicon-demo.csv").read_text(encoding="utf-8")
    return screening_services.lexicon_import_csv(actor=Actor.system(door=Door.CLI), text=text).created


def group_seqs(group_id: int) -> list[int]:
    from groups.models import Message

    return list(Message.objects.filter(group_id=group_id).order_by("seq").values_list("seq", flat=True))


def progress(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --- the server ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def postgres_cpu() -> float:
    """CPU time of the local PostgreSQL server: its live processes, plus the children its postmaster has
    reaped (connections that have ended)."""
    procs = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" (", 1)
            name, rest = rest.rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if name == "postgres":
            procs[int(pid)] = rest.split()
    total = 0
    for fields in procs.values():
        total += int(fields[11]) + int(fields[12])
        if int(fields[1]) not in procs:  # the postmaster: its children's time once they have ended
            total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def redis_cpu(url: str | None = None) -> float:
    """CPU time of the Redis server of ``url`` (default the benchmarks' own)."""
    import redis

    client = redis.Redis.from_url(url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"))
    info = client.info("cpu")
    client.close()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Server:
    """One uvicorn process serving ``config.asgi:application`` with the benchmark settings."""

    def __init__(self, redis_url: str, port: int | None = None):
        self.port = port or free_port()
        self.redis_url = redis_url
        self.log = Path(tempfile.gettempdir()) / f"qunzu-bench-uvicorn-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def start(self) -> Server:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_bench",
            "REDIS_URL": self.redis_url,
            "LOG_LEVEL": "WARNING",
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        self.proc = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.origin}/healthz/", timeout=2)  # noqa: S310
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("uvicorn did not start within 60 s")

    def stop(self) -> None:
        """Stop the server; its log is kept only if it holds errors (the path is printed)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.errors():
            progress(f"server log with errors kept: {self.log}")
        else:
            self.log.unlink(missing_ok=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def errors(self) -> list[str]:
        """Tracebacks and errors the server logged (one line each)."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [line for line in lines if " ERROR " in line or line.startswith(("ERROR", "Traceback"))]

    def exceptions(self) -> dict[str, int]:
        """The exceptions that ended the server's logged tracebacks (the last of a chain), by class."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        lines = [line for line in lines if line.strip()]
        counts: dict[str, int] = {}
        for i, line in enumerate(lines):
            name = line.split(":", 1)[0]
            is_exception = line[:1].isalpha() and " " not in name and ("." in name or name.endswith("Error"))
            chained = i + 1 < len(lines) and lines[i + 1].startswith(
                ("During handling", "The above exception")
            )
            if is_exception and not chained:
                counts[name] = counts.get(name, 0) + 1
        return counts


# --- the client ------------------------------------------------------------------------------------------


async def open_socket(server: Server, path: str, cookie: str, timeout: float) -> tuple:
    """A socket to ``path`` as the page opens it (the session cookie, the site's Origin; no compression, no
    client pings, no bound on frames read ahead); on the chat route also its ``hello`` frame, and any
    frames that came before it (the protocol says none should; the page script takes them as they come).
    Returns (socket, hello or None, [earlier frames])."""
    from websockets.asyncio.client import connect

    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    ws = await connect(
        server.url(path),
        origin=server.origin,
        additional_headers=headers,
        compression=None,
        max_size=None,
        max_queue=None,
        ping_interval=None,
        open_timeout=timeout,
    )
    if path != "/ws/":
        return ws, None, []
    early = []
    try:
        async with asyncio.timeout(timeout):
            while (hello := json.loads(await ws.recv())).get("type") != "hello":
                early.append(hello)
    except BaseException:
        await ws.close()
        raise
    return ws, hello, early


class Phase:
    """One measurement: what was sent when, what arrived, within the measured window."""

    def __init__(self, name: str):
        self.name = name
        self.sent_at: dict[str, float] = {}  # client_msg_id -> send time (scheduled time at a fixed rate)
        self.acked: dict[str, int] = {}  # client_msg_id -> seq (chat)
        self.errors: list[dict] = []
        self.window = (float("inf"), float("inf"))
        self.latencies: list[float] = []
        self.deliveries = 0  # frames received inside the window
        self.completed = 0  # messages back at their sender inside the window
        self.duplicate_acks = 0  # answered as a repeat of an earlier message (there should be none)

    def in_window(self, at: float) -> bool:
        return self.window[0] <= at <= self.window[1]


class Socket:
    """One member's chat socket (``kind="chat"``) or one socket of the bare echo route (``"echo"``, or
    ``"echo-hub"``: the same relay over the chat path's fan-out, for information).

    Frames are counted as they arrive: per message key (the sequence number on the chat route, the
    client message id on the echo route) how often it came, and the latency from its send time."""

    def __init__(self, bench: Bench, index: int, server: Server, kind: str, cookie: str = ""):
        self.bench, self.index, self.server, self.kind, self.cookie = bench, index, server, kind, cookie
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.received: dict = {}  # seq -> client_msg_id (chat) or client_msg_id -> client_msg_id (echo)
        self.duplicates = 0
        self.out_of_order = 0
        self.last_live = 0
        self.outstanding: dict[str, float] = {}  # sent by this socket, not yet back through the fan-out
        self.slots: asyncio.Semaphore | None = None
        self.waiting: asyncio.Future | None = None  # the next history frame
        self.closed_by_server = 0  # times the server closed this socket
        self.open_now = False

    async def open(self) -> None:
        path = {"chat": "/ws/", "echo": "/ws/bench-echo/", "echo-hub": "/ws/bench-echo-hub/"}[self.kind]
        self.ws, _hello, _early = await open_socket(self.server, path, self.cookie, 60)
        self.open_now = True
        self.reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        self.open_now = False
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)

    def reset(self) -> None:
        self.received, self.duplicates, self.out_of_order, self.last_live = {}, 0, 0, 0
        self.outstanding = {}

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                self._on_frame(raw, time.perf_counter())
        except ConnectionClosed:
            pass
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_exception(ConnectionError("the server closed the socket"))
        if self.open_now:  # not closed by us
            self.open_now = False
            self.closed_by_server += 1
            if self.slots is not None:  # a sender whose socket went away stops waiting for its messages
                for _cmid in list(self.outstanding):
                    self.slots.release()
                self.outstanding.clear()

    def _on_frame(self, raw: str, now: float) -> None:
        frame = json.loads(raw)
        phase = self.bench.phase
        kind = frame.get("type")
        if kind == "message" or self.kind != "chat":
            if self.kind == "chat":
                message = frame["message"]
                key, cmid = message["seq"], message["client_msg_id"]
                if key < self.last_live:
                    self.out_of_order += 1
                self.last_live = max(self.last_live, key)
            else:
                key = cmid = frame["client_msg_id"]
            if key in self.received:
                self.duplicates += 1
            else:
                self.received[key] = cmid
            sent = phase.sent_at.get(cmid)
            if sent is not None and phase.in_window(sent):
                phase.latencies.append(now - sent)
            if phase.in_window(now):
                phase.deliveries += 1
            if self.outstanding.pop(cmid, None) is not None:
                if phase.in_window(now):
                    phase.completed += 1
                self.slots.release()
        elif kind == "ack":
            phase.acked[frame["client_msg_id"]] = frame["seq"]
            phase.duplicate_acks += bool(frame.get("duplicate"))
        elif kind == "history":
            if self.waiting is not None and not self.waiting.done():
                self.waiting.set_result(frame)
        elif kind == "error":
            phase.errors.append(frame)
            if self.outstanding.pop(frame.get("client_msg_id"), None) is not None:
                self.slots.release()

    async def send(self, cmid: str, body: str, at: float | None = None) -> bool:
        """Send a message (``at``: the time it was due, for a fixed rate); False if the socket is closed."""
        from websockets.exceptions import ConnectionClosed

        group = self.bench.group_code if self.kind == "chat" else "echo"
        frame = json.dumps(
            {"type": "send", "group": group, "body": body, "client_msg_id": cmid}, ensure_ascii=False
        )
        self.bench.phase.sent_at[cmid] = at or time.perf_counter()
        self.outstanding[cmid] = self.bench.phase.sent_at[cmid]
        try:
            await self.ws.send(frame)
            return True
        except ConnectionClosed:
            self.outstanding.pop(cmid, None)
            return False

    async def resume(self, group: str, after: int, timeout: float = 60) -> list[dict]:
        """Every message after ``after``, following ``more``; if the server closes the socket meanwhile,
        reconnect and go on (three times at most)."""
        from websockets.exceptions import ConnectionClosed

        messages, failures = [], 0
        while True:
            try:
                if not self.open_now:
                    await self.close()
                    await self.open()
                self.waiting = asyncio.get_running_loop().create_future()
                await self.ws.send(json.dumps({"type": "resume", "group": group, "after": after}))
                frame = await asyncio.wait_for(self.waiting, timeout)
            except (ConnectionClosed, ConnectionError):
                failures += 1
                if failures > 3:
                    raise
                continue
            messages.extend(frame["messages"])
            if not frame["more"] or not frame["messages"]:
                return messages
            after = frame["messages"][-1]["seq"]


class Bench:
    """Sockets of one kind into one group, and the phases run over them."""

    def __init__(self, servers: list[Server], kind: str, cookies: list[str], group_code: str = ""):
        self.servers, self.kind, self.group_code = servers, kind, group_code
        self.phase = Phase("idle")
        self.sockets = [
            Socket(self, i, servers[i % len(servers)], kind, cookies[i] if kind == "chat" else "")
            for i in range(len(cookies))
        ]
        self._ids = 0
        self.run = os.urandom(3).hex()  # client message ids never repeat from one run to the next
        self.reopened = 0

    async def open(self, batch: int = 25) -> float:
        started = time.perf_counter()
        for i in range(0, len(self.sockets), batch):
            await asyncio.gather(*(s.open() for s in self.sockets[i : i + batch]))
        return time.perf_counter() - started

    async def reopen_closed(self) -> int:
        """Reconnect the sockets the server closed (as a client would); how many there were."""
        closed = [s for s in self.sockets if not s.open_now]
        for s in closed:
            await s.close()
            await s.open()
        self.reopened += len(closed)
        return len(closed)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sockets))

    def _cmid(self, sender: Socket) -> str:
        self._ids += 1
        return f"{self.run}-{self.phase.name}-{sender.index}-{self._ids}"

    async def _start(self, name: str) -> tuple[Phase, int]:
        reopened = await self.reopen_closed()
        self.phase = Phase(name)
        for s in self.sockets:
            s.reset()
        return self.phase, reopened

    def _cpu(self) -> list[float]:
        return [own_cpu(), *(cpu_seconds(server.pid) for server in self.servers), postgres_cpu(), redis_cpu()]

    async def saturate(
        self, name: str, senders: int, window: int, seconds: float, warmup: float = 1.0
    ) -> dict:
        """Closed loop: each sender keeps ``window`` messages in flight (a message is done when it comes
        back to its sender through the fan-out), as fast as the server takes them."""
        phase, reopened = await self._start(name)
        stop = asyncio.Event()

        async def run(sender: Socket) -> None:
            while not stop.is_set():
                await sender.slots.acquire()
                if stop.is_set() or not await sender.send(self._cmid(sender), random.choice(BODIES)):
                    break

        started = time.perf_counter()
        phase.window = (started + warmup, started + warmup + seconds)
        for s in self.sockets[:senders]:
            s.slots = asyncio.Semaphore(window)
        tasks = [asyncio.create_task(run(s)) for s in self.sockets[:senders]]
        await asyncio.sleep(warmup)
        cpu_before = self._cpu()
        await asyncio.sleep(seconds)
        cpu_after = self._cpu()
        stop.set()
        for s in self.sockets[:senders]:  # wake the loops that wait for a slot
            s.slots.release()
        await asyncio.gather(*tasks)
        result = await self._finish(phase, seconds, cpu_before, cpu_after)
        result["reopened_before"] = reopened
        return result

    async def fixed_rate(
        self,
        name: str,
        senders: int,
        rate: float,
        seconds: float,
        warmup: float = 1.0,
        backlog_s: float = 2.0,
    ) -> dict:
        """Open loop: ``rate`` messages a second in all, the senders taking turns at even intervals.
        Latency counts from the time a message was due, so a late send is no excuse. If more than
        ``backlog_s`` seconds' worth of messages are still on their way, the server cannot keep up:
        sending stops and the phase is marked overloaded (its latencies then only grow with time)."""
        phase, reopened = await self._start(name)
        total = int(rate * (seconds + warmup))
        started = time.perf_counter() + 0.05
        phase.window = (started + warmup, started + warmup + seconds)
        for s in self.sockets[:senders]:
            s.slots = asyncio.Semaphore(10**9)
        cpu_before, overloaded, sent = None, False, 0
        for i in range(total):
            at = started + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if cpu_before is None and at >= phase.window[0]:
                cpu_before = self._cpu()
            if sum(len(s.outstanding) for s in self.sockets[:senders]) > max(20, rate * backlog_s):
                overloaded = True
                break
            sender = self.sockets[i % senders]
            sent += await sender.send(self._cmid(sender), random.choice(BODIES), at)
        measured = (time.perf_counter() - phase.window[0]) if overloaded else seconds
        if cpu_before is None:
            cpu_before = self._cpu()
        if overloaded:
            phase.window = (phase.window[0], time.perf_counter())
        else:
            await asyncio.sleep(max(0.0, phase.window[1] - time.perf_counter()))
        cpu_after = self._cpu()
        result = await self._finish(phase, max(measured, 0.001), cpu_before, cpu_after)
        # Overloaded too when it kept up less than 95 % of the offered rate (a backlog still growing).
        overloaded = overloaded or result["messages_in_per_s"] < 0.95 * rate
        result.update(offered_per_s=rate, overloaded=overloaded, reopened_before=reopened)
        return result

    async def _finish(self, phase: Phase, seconds: float, cpu_before, cpu_after) -> dict:
        from bench.harness import percentile

        drain_started = time.perf_counter()
        deadline = drain_started + 60
        expected: set = set()
        while time.perf_counter() < deadline:  # drain: wait for everything sent to arrive everywhere
            if self.kind == "chat":
                answered = len(phase.acked) + len({e.get("client_msg_id") for e in phase.errors})
                expected = set(phase.acked.values())
                if answered < len(phase.sent_at):
                    await asyncio.sleep(0.1)
                    continue
            else:
                expected = set(phase.sent_at)
            if all(len(s.received) >= len(expected) for s in self.sockets if s.open_now):
                break
            await asyncio.sleep(0.1)
        drain_s = time.perf_counter() - drain_started
        lost = [len(expected - set(s.received)) for s in self.sockets]
        lat = phase.latencies
        cpu = [(after - before) / seconds for before, after in zip(cpu_before, cpu_after, strict=True)]
        result = {
            "clients": len(self.sockets),
            "servers": len(self.servers),
            "seconds": round(seconds, 2),
            "messages_sent": len(phase.sent_at),
            "messages_in_per_s": round(phase.completed / seconds, 1),
            "deliveries_per_s": round(phase.deliveries / seconds),
            "latency_p50_ms": round(percentile(lat, 0.50) * 1000, 2),
            "latency_p99_ms": round(percentile(lat, 0.99) * 1000, 2),
            "latency_max_ms": round(max(lat, default=0) * 1000, 2),
            "latencies": len(lat),
            "drain_s": round(drain_s, 2),
            "lost_live_total": sum(lost),
            "clients_with_loss": sum(1 for n in lost if n),
            "duplicated_live_total": sum(s.duplicates for s in self.sockets),
            "unexpected_total": sum(len(set(s.received) - expected) for s in self.sockets),
            "out_of_order_total": sum(s.out_of_order for s in self.sockets),
            "closed_by_server": sum(1 for s in self.sockets if not s.open_now),
            "errors": len(phase.errors),
            "duplicate_acks": phase.duplicate_acks,
            "error_codes": sorted({e.get("code", "") for e in phase.errors}),
            "cpu_client": round(cpu[0], 2),
            "cpu_servers": [round(c, 2) for c in cpu[1:-2]],
            "cpu_postgres": round(cpu[-2], 2),
            "cpu_redis": round(cpu[-1], 2),
        }
        if self.kind == "chat":
            result["unacked"] = len(phase.sent_at) - len(phase.acked)
            result.update(await self._confirm_by_resume(expected))
        progress(f"{phase.name}: {result}")
        return result

    async def _confirm_by_resume(self, expected: set[int]) -> dict:
        """Each client (reconnected first if the server closed it) resumes from the first sequence number
        it lacks, or from its last one, following ``more``: it must then hold every seq of the phase
        exactly once. Three clients also resume from the start of the phase and compare the server's
        history, seq by seq, with what they received live."""
        if not expected:
            return {
                "resume_ok": True,
                "clients_not_exactly_once_after_resume": 0,
                "history_mismatch_in_sample": 0,
            }
        await self.reopen_closed()
        first, last = min(expected), max(expected)
        whole = list(range(first, last + 1))
        recovered, bad = 0, 0

        async def check(s: Socket) -> None:
            nonlocal recovered, bad
            missing = [seq for seq in whole if seq not in s.received]
            history = await s.resume(self.group_code, (missing[0] - 1) if missing else last)
            held = dict(s.received)
            for m in history:
                if m["seq"] not in held:
                    held[m["seq"]] = m["client_msg_id"]
                    recovered += 1
            if sorted(held) != whole:
                bad += 1

        for i in range(0, len(self.sockets), 50):
            await asyncio.gather(*(check(s) for s in self.sockets[i : i + 50]))
        mismatched = 0
        for s in random.sample(self.sockets, min(3, len(self.sockets))):
            server = {m["seq"]: m["client_msg_id"] for m in await s.resume(self.group_code, first - 1)}
            if sorted(server) != whole or any(server.get(seq) != cmid for seq, cmid in s.received.items()):
                mismatched += 1
        return {
            "resume_recovered": recovered,
            "clients_not_exactly_once_after_resume": bad,
            "history_mismatch_in_sample": mismatched,
            "resume_ok": bad == 0 and mismatched == 0,
            "seq_range": [first, last],
        }


# --- the benchmark ---------------------------------------------------------------------------------------


async def _run_size(servers, cookies, group_code, n, args) -> dict:
    """Both routes over ``n`` sockets: saturation (best of ``args.repeat``), and with 50 clients the fixed
    rates. With more than one server process (information only) one saturation run each and 100 msg/s."""
    out = {}
    several = len(servers) > 1
    repeat = 1 if several else args.repeat
    echo = Bench(servers, "echo", [""] * n)
    chat = Bench(servers, "chat", cookies[:n], group_code)
    out["connect_echo_s"] = round(await echo.open(), 2)
    out["connect_chat_s"] = round(await chat.open(), 2)
    senders = min(args.senders, n)
    # The bare route, then the chat path, with the same senders and window; twice, keeping each one's
    # best run (the machines are shared: the best is the least disturbed).
    # Untimed first: the server's first sends open its database connections and load code.
    await echo.saturate(f"ew{n}", senders, args.window, 1.0, warmup=0.5)
    await chat.saturate(f"cw{n}", senders, args.window, 1.0, warmup=0.5)
    runs = {"echo": [], "chat": []}
    for rep in range(repeat):
        runs["echo"].append(await echo.saturate(f"es{n}r{rep}", senders, args.window, args.seconds))
        runs["chat"].append(await chat.saturate(f"cs{n}r{rep}", senders, args.window, args.seconds))
    for kind in ("echo", "chat"):
        best = max(runs[kind], key=lambda r: r["messages_in_per_s"])
        out[f"{kind}_saturation"] = {**best, "runs_msg_per_s": [r["messages_in_per_s"] for r in runs[kind]]}
    # Exactly once is judged over every run, not only the best.
    out["chat_saturation"]["clients_not_exactly_once_after_resume"] = sum(
        r["clients_not_exactly_once_after_resume"] for r in runs["chat"]
    )
    out["chat_saturation"]["resume_ok"] = all(r["resume_ok"] for r in runs["chat"])
    out["chat_saturation"]["lost_live_total"] = sum(r["lost_live_total"] for r in runs["chat"])
    out["chat_saturation"]["duplicated_live_total"] = sum(r["duplicated_live_total"] for r in runs["chat"])
    if n == 50:
        out["echo_fixed_100"] = await echo.fixed_rate(f"ef{n}", senders, 100, args.fixed_seconds)
        out["chat_fixed_100"] = await chat.fixed_rate(f"cf{n}", senders, 100, args.fixed_seconds)
    if n == 50 and not several:
        # For information: the same comparison at a rate both sustain (a third of the chat path's
        # saturation throughput), where latency is service time rather than queueing.
        light = max(1.0, round(out["chat_saturation"]["messages_in_per_s"] / 3))
        out["light_rate"] = light
        out["echo_fixed_light"] = await echo.fixed_rate(f"el{n}", senders, light, args.fixed_seconds)
        out["chat_fixed_light"] = await chat.fixed_rate(f"cl{n}", senders, light, args.fixed_seconds)
    out["sockets_reopened"] = {"echo": echo.reopened, "chat": chat.reopened}
    await echo.close()
    await chat.close()
    if not several:
        # For information: the bare relay over the chat path's own fan-out (common.fanout), to show what
        # of the gap to the baseline is the fan-out and what the chat path's work.
        hub = Bench(servers, "echo-hub", [""] * n)
        await hub.open()
        await hub.saturate(f"hw{n}", senders, args.window, 1.0, warmup=0.5)
        runs = [
            await hub.saturate(f"hs{n}r{rep}", senders, args.window, args.seconds) for rep in range(repeat)
        ]
        out["echo_hub_saturation"] = max(runs, key=lambda r: r["messages_in_per_s"])
        await hub.close()
    return out


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def _summary(size: dict) -> dict:
    echo, chat = size["echo_saturation"], size["chat_saturation"]
    summary = {"throughput_ratio": _ratio(chat["messages_in_per_s"], echo["messages_in_per_s"])}
    summary["throughput_ok"] = (summary["throughput_ratio"] or 0) >= 0.7
    if "echo_hub_saturation" in size:
        hub = size["echo_hub_saturation"]["messages_in_per_s"]
        summary["hub_throughput_ratio"] = _ratio(chat["messages_in_per_s"], hub)
    if "chat_fixed_100" in size:
        ef, cf = size["echo_fixed_100"], size["chat_fixed_100"]
        summary["fixed_p99_ratio"] = _ratio(cf["latency_p99_ms"], ef["latency_p99_ms"])
        summary["fixed_overloaded"] = {"echo": ef["overloaded"], "chat": cf["overloaded"]}
        summary["fixed_p99_ok"] = not cf["overloaded"] and (summary["fixed_p99_ratio"] or 99) <= 2
    if "chat_fixed_light" in size:
        el, cl = size["echo_fixed_light"], size["chat_fixed_light"]
        summary["light_p99_ratio"] = _ratio(cl["latency_p99_ms"], el["latency_p99_ms"])
    chat_phases = [size[k] for k in ("chat_saturation", "chat_fixed_100", "chat_fixed_light") if k in size]
    summary["not_exactly_once_after_resume"] = sum(
        p["clients_not_exactly_once_after_resume"] for p in chat_phases
    )
    summary["lost_live"] = sum(p["lost_live_total"] for p in chat_phases)
    summary["duplicated"] = sum(p["duplicated_live_total"] for p in chat_phases)
    summary["exactly_once_ok"] = (
        summary["not_exactly_once_after_resume"] == 0
        and summary["duplicated"] == 0
        and all(p["resume_ok"] for p in chat_phases)
    )
    return summary


def _row(label: str, phase: dict) -> tuple:
    over = " OVERLOADED" if phase.get("overloaded") else ""
    return (
        label,
        f"{phase['messages_in_per_s']:>7.1f} msg/s in {phase['deliveries_per_s']:>6} deliveries/s  "
        f"p50 {phase['latency_p50_ms']:>8.1f} ms p99 {phase['latency_p99_ms']:>8.1f} ms  "
        f"cpu: server {'+'.join(f'{c:.0%}' for c in phase['cpu_servers'])} "
        f"pg {phase['cpu_postgres']:.0%} redis {phase['cpu_redis']:.0%} "
        f"client {phase['cpu_client']:.0%}{over}",
        f"lost live {phase['lost_live_total']} dup {phase['duplicated_live_total']}"
        + (f" errors {phase['errors']} {phase['error_codes']}" if phase["errors"] else "")
        + (f" repeat acks {phase['duplicate_acks']}" if phase.get("duplicate_acks") else "")
        + (f" closed by server {phase['closed_by_server']}" if phase["closed_by_server"] else ""),
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 and 100 clients, short phases")
    parser.add_argument("--sizes", type=int, nargs="*", default=None, help="clients per run (50 and 500)")
    parser.add_argument("--seconds", type=float, default=None, help="each saturation phase")
    parser.add_argument("--fixed-seconds", type=float, default=None, help="each fixed-rate phase")
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--window", type=int, default=2, help="messages in flight per sender at saturation")
    parser.add_argument("--repeat", type=int, default=None, help="saturation runs of each route (best kept)")
    parser.add_argument("--workers", type=int, nargs="*", default=None, help="server layouts (processes)")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (1 if args.quick else 2)
    args.workers = args.workers or ([1] if args.quick else [1, 2])
    sizes = args.sizes or ([50, 100] if args.quick else [50, 500])
    args.seconds = args.seconds or (2.5 if args.quick else 5.0)
    args.fixed_seconds = args.fixed_seconds or (4.0 if args.quick else 8.0)

    from bench.harness import bench_redis_url, print_table, setup_django, write_results

    redis_url = os.environ["REDIS_URL"] = bench_redis_url()  # this process's cache too, if set up here
    setup_django()
    redis_flush(redis_url)
    started = time.perf_counter()
    lexicon = load_demo_lexicon()
    members = make_members(max(sizes))
    member_ids = [pk for pk, _c in members]
    cookies = [c for _pk, c in members]
    groups = {n: make_group(member_ids[:n], name=f"压测群{n}") for n in sizes}
    from django.db import connection

    connection.close()
    results = {
        "sizes": sizes,
        "seconds": args.seconds,
        "fixed_seconds": args.fixed_seconds,
        "senders": args.senders,
        "window": args.window,
        "setup_s": round(time.perf_counter() - started, 1),
        "lexicon_terms": lexicon,
    }
    progress(f"set-up: {max(sizes)} members, {len(sizes)} groups in {results['setup_s']} s")
    errors: list[str] = []
    exceptions: dict[str, int] = {}
    for workers in args.workers:
        redis_flush(redis_url)  # no channel names left over from an earlier server
        servers = [Server(redis_url).start() for _ in range(workers)]
        try:
            for n in sizes:
                group_id, code = groups[n]
                before = len(group_seqs(group_id))
                connection.close()
                size = asyncio.run(_run_size(servers, cookies, code, n, args))
                seqs = group_seqs(group_id)
                connection.close()
                size["db_seqs_gapless"] = seqs == list(range(1, len(seqs) + 1))
                size["db_messages"] = len(seqs) - before
                size["server_rss_kb"] = [rss_kb(s.pid) for s in servers]
                size.update(_summary(size))
                results[f"{workers}w_{n}"] = size
        finally:
            for server in servers:
                errors.extend(server.errors())
                for name, count in server.exceptions().items():
                    exceptions[name] = exceptions.get(name, 0) + count
                server.stop()
    results["server_error_lines"] = len(errors)
    results["server_exceptions"] = exceptions
    results["server_errors_sample"] = sorted(set(errors))[:10]

    rows = []
    for workers in args.workers:
        for n in sizes:
            size = results[f"{workers}w_{n}"]
            tag = f"{workers}p {n}c"
            info = workers > 1
            rows.append(_row(f"{tag} bare echo, saturation", size["echo_saturation"]))
            rows.append(_row(f"{tag} chat, saturation", size["chat_saturation"]))
            rows.append(
                (
                    f"{tag} chat / bare throughput (target >= 0.7)",
                    size["throughput_ratio"],
                    "(information)" if info else ("ok" if size["throughput_ok"] else "MISSED"),
                )
            )
            if "echo_hub_saturation" in size:
                rows.append(
                    _row(f"{tag} bare echo over the chat fan-out, saturation", size["echo_hub_saturation"])
                )
                rows.append(
                    (f"{tag} chat / bare over the same fan-out (information)", size["hub_throughput_ratio"])
                )
            if "chat_fixed_100" in size:
                rows.append(_row(f"{tag} bare echo, 100 msg/s", size["echo_fixed_100"]))
                rows.append(_row(f"{tag} chat, 100 msg/s", size["chat_fixed_100"]))
                rows.append(
                    (
                        f"{tag} chat / bare p99 at 100 msg/s (target <= 2)",
                        size["fixed_p99_ratio"],
                        "(information)"
                        if info
                        else ("ok" if size["fixed_p99_ok"] else "MISSED")
                        + (" (chat overloaded)" if size["fixed_overloaded"]["chat"] else "")
                        + (" (bare overloaded)" if size["fixed_overloaded"]["echo"] else ""),
                    )
                )
            if "chat_fixed_light" in size:
                light = size["light_rate"]
                rows.append(_row(f"{tag} bare echo, {light:g} msg/s", size["echo_fixed_light"]))
                rows.append(_row(f"{tag} chat, {light:g} msg/s", size["chat_fixed_light"]))
                rows.append(
                    (f"{tag} chat / bare p99 at {light:g} msg/s (information)", size["light_p99_ratio"])
                )
            rows.append(
                (
                    f"{tag} every client every seq exactly once after resume",
                    size["exactly_once_ok"],
                    f"lost live {size['lost_live']} (recovered by resume), duplicated {size['duplicated']}; "
                    f"sockets reopened {size['sockets_reopened']}; "
                    f"database gapless {size['db_seqs_gapless']}",
                )
            )
    rows.append(("server tracebacks logged", sum(exceptions.values()), str(exceptions)))
    print_table("chat_fanout", rows)
    write_results("chat_fanout", results)
    return results


if __name__ == "__main__":
    main()
