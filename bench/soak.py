"""soak: 500 chat clients in several groups for ten minutes, with joins, leaves, mutes and reconnects.

Targets (issue 13): no message lost or duplicated; the memory of the server process flat after the
warm-up.

One uvicorn process (``config.asgi:application``, the Redis channel layer, PostgreSQL; the set-up of
``chat_fanout``), 500 members' chat sockets spread over four groups of uneven size (250/100/100/50 of the
clients; ``--quick``: 50 clients for one minute). During the run:

- members send at a steady total rate (``--rate``, 10 msg/s: about 1,700 deliveries a second, which one
  server process on a shared 2-core machine keeps up with; 25 did not while other work loaded it), a
  connected member and one of its groups drawn at random for each message (so a group's share follows its
  size); the benchmark database raises
  every credit level's messages a minute as ``chat_fanout`` does (the limit is still checked); no slow
  mode;
- members join other groups (invited by the owner through ``invitation_create``; above 40 members the
  invitee confirms through ``invitation_respond``) and leave them (``membership_leave``): a leaving client
  first catches up by ``resume``, then leaves;
- owners mute members (``membership_mute``, one minute) and unmute them 5-30 s later
  (``membership_unmute``); a muted member sends once at once (a probe: it must be refused with ``muted``)
  and again after the unmute (it must be accepted);
- every client drops its socket after a random life (``--mean-life``, 120 s on average), stays away
  0.2-2 s, reconnects, resumes each of its groups after the last sequence number it holds and sends again
  what was not acknowledged, with the same ``client_msg_id`` (docs/protocol.md).

A client keeps, per group, the sequence numbers it holds; a live frame more than one past what it holds
contiguously, a ``group_joined`` frame and every (re)connection make it ``resume`` (following ``more``).

At the end (traffic stopped, every client reconnected and caught up) the database is the reference:

- **lost**: for every client and every span of membership in a group (from the group's last number at the
  join, which ``_membership_add`` reads under the group's row lock, to the last number the client held
  after its catch-up before leaving, or the group's last at the end), a stored number the client does not
  hold;
- **duplicated**: the same number delivered twice as a live frame on one connection (a server bug); a
  number delivered again after a reconnection or by a resume, which the protocol tells the client to drop,
  is counted apart (``redelivered``);
- **missed live**: a number stored while the client was connected, subscribed and a member (2 s margins at
  each end of the connection and of the membership), that did not come as a live frame on that connection
  (the resume filled it: not lost, but the live path dropped it);
- frames of a group after its ``group_left`` on the same connection, sends accepted while muted, muted
  refusals while not muted, acknowledgements of one ``client_msg_id`` with two numbers.

Memory: the server's RSS, open file descriptors and the Redis database's keys (those of the channel layer
apart) every few seconds; after the warm-up (``--warmup``, 2 minutes), at the end, and the least-squares
slope of the RSS over the samples after the warm-up. "Flat" when the slope is under 1 MB a minute and the
end is within 5 % of the RSS after the warm-up: at 10 msg/s (1,700 deliveries a second) and about four
reconnections a second, a leak of 1 KB per message or 4 KB per connection would grow faster than that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import time
from array import array
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from bench.chat_fanout import (
    BODIES,
    Server,
    cpu_seconds,
    load_demo_lexicon,
    make_group,
    make_members,
    open_socket,
    own_cpu,
    postgres_cpu,
    progress,
    redis_cpu,
    redis_flush,
)

SHARES = (0.5, 0.2, 0.2, 0.1)  # of the clients in each home group: 250/100/100/50 of 500
MARGIN_S = 2.0  # at each end of a connection and of a membership, for "missed live"
FLAT_SLOPE_MB_MIN = 1.0
FLAT_GROWTH = 0.05


class Seqs:
    """Sequence numbers as a growable byte array (cheap for 500 clients x thousands of messages)."""

    __slots__ = ("bits",)

    def __init__(self):
        self.bits = bytearray()

    def __contains__(self, seq: int) -> bool:
        return seq < len(self.bits) and self.bits[seq] == 1

    def add(self, seq: int) -> None:
        if seq >= len(self.bits):
            self.bits.extend(bytes(seq + 1024 - len(self.bits)))
        self.bits[seq] = 1


class GroupState:
    """One client's view of one group: the spans it was a member, what it holds, its resume."""

    def __init__(self):
        self.spans: list[list] = []  # [start seq, end seq or None, start wall, end wall or None]
        self.held = Seqs()
        self.live = Seqs()  # came as a live frame at least once
        self.conn_live = Seqs()  # live frames on the current connection
        self.left_on_conn = False  # group_left received on the current connection
        self.contig = 0
        self.max_held = 0
        self.joining = False
        self.leaving = False
        self.resuming = False
        self.caught_up = asyncio.Event()
        self.mute = "no"  # "no", "yes", or "changing" while a mute or unmute is under way
        self.mute_epoch = 0  # changes with ``mute``: a send is judged only if it did not change meanwhile
        self.left_wall = 0.0  # when the last leave returned

    def set_mute(self, state: str) -> None:
        self.mute = state
        self.mute_epoch += 1

    @property
    def active(self) -> bool:
        return bool(self.spans) and self.spans[-1][1] is None and not self.leaving

    def open_span(self, start: int) -> None:
        self.spans.append([start, None, time.time(), None])
        self.contig = max(start, self.contig)
        self.advance()

    def take(self, seq: int) -> None:
        self.held.add(seq)
        self.max_held = max(self.max_held, seq)

    def advance(self) -> None:
        while self.contig + 1 in self.held:
            self.contig += 1


class Client:
    def __init__(self, run: SoakRun, index: int, user_id: int, cookie: str, home: str):
        self.run, self.index, self.user_id, self.cookie, self.home = run, index, user_id, cookie, home
        self.rng = random.Random(7000 + index)
        self.groups: dict[str, GroupState] = {}
        self.ws = None
        self.connected = False
        self.connections: list[list[float]] = []  # [open wall, close wall]
        self.pending: dict[str, str] = {}  # client_msg_id -> group, sent and not answered
        self.task: asyncio.Task | None = None
        self.reader: asyncio.Task | None = None

    def state(self, code: str) -> GroupState:
        if code not in self.groups:
            self.groups[code] = GroupState()
        return self.groups[code]

    def active_groups(self) -> list[str]:
        return [code for code, st in self.groups.items() if st.active]

    async def _send(self, frame: dict) -> bool:
        from websockets.exceptions import ConnectionClosed

        if not self.connected:
            return False
        try:
            await self.ws.send(json.dumps(frame, ensure_ascii=False))
            return True
        except ConnectionClosed:
            return False

    async def send_message(self, code: str, cmid: str | None = None) -> bool:
        run = self.run
        retry = cmid is not None
        if cmid is None:
            run.serial += 1
            cmid = f"{run.tag}-{self.index}-{run.serial}"
        st = self.groups[code]
        frame = {"type": "send", "group": code, "body": self.rng.choice(BODIES), "client_msg_id": cmid}
        run.sent_mute[cmid] = (code, st.mute, st.mute_epoch)
        if not retry:
            run.sent_at[cmid] = time.perf_counter()
            run.counts["sent"] += 1
        else:
            run.sent_at.pop(cmid, None)  # no latency for a retried message
            run.counts["retries"] += 1
        self.pending[cmid] = code
        return await self._send(frame)

    async def request_resume(self, code: str) -> None:
        st = self.groups[code]
        if st.resuming or not self.connected:
            return
        st.resuming = True
        st.caught_up.clear()
        self.run.counts["resumes"] += 1
        if not await self._send({"type": "resume", "group": code, "after": st.contig}):
            st.resuming = False

    def _resume_over(self, st: GroupState) -> None:
        st.resuming = False
        st.caught_up.set()

    def _mute_at_send(self, cmid: str) -> str:
        """The member's mute state in the group when ``cmid`` was sent, if it has not changed since (the
        server may take a send long after it went); otherwise "changing"."""
        code, state, epoch = self.run.sent_mute.get(cmid, ("", "changing", -1))
        st = self.groups.get(code)
        return state if st is not None and st.mute_epoch == epoch else "changing"

    # --- frames

    async def on_frame(self, frame: dict, now: float) -> None:
        kind = frame.get("type")
        run = self.run
        if kind == "message":
            await self._on_message(frame["message"], now)
        elif kind == "history":
            code = frame["group"]
            st = self.groups.get(code)
            if st is None:
                return
            for message in frame["messages"]:
                seq = message["seq"]
                if seq in st.held:
                    run.counts["redelivered_by_resume"] += 1
                else:
                    st.take(seq)
                    run.counts["via_resume"] += 1
            st.advance()
            if frame["more"] and frame["messages"]:
                if not await self._send({"type": "resume", "group": code, "after": st.contig}):
                    self._resume_over(st)
                return
            self._resume_over(st)
            if st.max_held > st.contig and st.active:  # a hole still (frames past it arrived meanwhile)
                await self.request_resume(code)
        elif kind == "ack":
            cmid = frame["client_msg_id"]
            self.pending.pop(cmid, None)
            seqs = run.acked.setdefault(cmid, set())
            seqs.add(frame["seq"])
            run.counts["acks"] += 1
            run.counts["duplicate_acks"] += bool(frame.get("duplicate"))
            if not frame.get("duplicate") and self._mute_at_send(cmid) == "yes":
                run.violation("accepted_while_muted", self.index, frame.get("group"), frame["seq"])
        elif kind == "error":
            code = frame.get("code", "")
            run.error_codes[code] = run.error_codes.get(code, 0) + 1
            cmid = frame.get("client_msg_id")
            if cmid is not None and self.pending.pop(cmid, None) is not None:
                if code == "muted":
                    if self._mute_at_send(cmid) == "no":
                        run.violation("refused_muted_while_not_muted", self.index, frame.get("group"))
                    else:
                        run.counts["refused_muted"] += 1
            elif cmid is None and frame.get("group") in self.groups:
                st = self.groups[frame["group"]]
                if st.resuming:  # a resume refused (the group was left meanwhile)
                    self._resume_over(st)
        elif kind == "group_joined":
            code = frame["group"]
            st = self.state(code)
            if not st.active and not st.joining:
                run.counts["group_joined_unexpected"] += 1
            elif st.active:
                await self.request_resume(code)
        elif kind == "group_left":
            st = self.groups.get(frame["group"])
            if st is not None:
                st.left_on_conn = True
        else:
            run.other_frames[kind] = run.other_frames.get(kind, 0) + 1

    async def _on_message(self, message: dict, now: float) -> None:
        run = self.run
        code, seq, cmid = message["group"], message["seq"], message["client_msg_id"]
        st = self.groups.get(code)
        if st is None or (st.left_on_conn and not st.joining):
            run.violation("delivered_after_group_left", self.index, code, seq)
            return
        if not st.active and not st.joining:
            run.counts["delivered_while_leaving"] += 1  # between the catch-up and group_left: allowed
            return
        if seq in st.conn_live:
            run.violation("duplicated", self.index, code, seq)
            return
        st.conn_live.add(seq)
        st.live.add(seq)
        run.deliveries += 1
        sent = run.sent_at.get(cmid)
        if sent is not None:
            run.latencies.append(now - sent)
            run.latency_at.append(sent - run.traffic_started)
        if seq in st.held:
            run.counts["redelivered_live"] += 1
            return
        st.take(seq)
        run.counts["live"] += 1
        if st.active:
            st.advance()
            if st.max_held > st.contig and not st.resuming:
                run.counts["gaps_seen"] += 1
                await self.request_resume(code)

    # --- a connection's life

    async def connect(self) -> bool:
        attempt = time.time()
        try:
            self.ws, hello, early = await open_socket(self.run.server, "/ws/", self.cookie, 30)
        except Exception as exc:  # counted; the client tries again
            name = type(exc).__name__
            self.run.connect_failures[name] = self.run.connect_failures.get(name, 0) + 1
            return False
        self.connected = True
        self.connections.append([time.time(), 0.0])
        self.run.counts["connects"] += 1
        listed = set(hello.get("groups", []))
        for code, st in self.groups.items():
            st.conn_live = Seqs()
            st.resuming = False
            st.caught_up.set()
            settled = not st.joining and not st.leaving
            # A group left before this connection was asked for must not be carried by it at all (one left
            # meanwhile: until its group_left).
            st.left_on_conn = settled and not st.active and st.left_wall < attempt
            if settled and st.active and st.spans[-1][2] < attempt and code not in listed:
                self.run.violation("hello_missing_group", self.index, code)
            if st.left_on_conn and code in listed:
                self.run.violation("hello_lists_left_group", self.index, code)
        self.run.counts["frames_before_hello"] += len(early)
        self.run.early_types.update(f.get("type") for f in early)
        now = time.perf_counter()
        for frame in early:
            await self.on_frame(frame, now)
        return True

    async def read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                await self.on_frame(json.loads(raw), time.perf_counter())
        except ConnectionClosed:
            pass

    def _closed(self) -> None:
        self.connected = False
        if self.connections and not self.connections[-1][1]:
            self.connections[-1][1] = time.time()
        for st in self.groups.values():
            st.resuming = False
            st.caught_up.set()

    async def _start_session(self) -> None:
        for code in self.active_groups():
            await self.request_resume(code)
        for cmid, code in list(self.pending.items()):  # unanswered sends again, with the same id
            if self.groups[code].active:
                await self.send_message(code, cmid)
            else:
                self.pending.pop(cmid, None)

    async def live(self, mean_life: float) -> None:
        run = self.run
        while not run.stop.is_set():
            if not await self.connect():
                await asyncio.sleep(self.rng.uniform(0.5, 2.0))
                continue
            self.reader = reader = asyncio.create_task(self.read())
            if not run.stop.is_set():
                await self._start_session()
            life = asyncio.create_task(asyncio.sleep(self.rng.expovariate(1 / mean_life)))
            stop = asyncio.create_task(run.stop.wait())
            done, _pending = await asyncio.wait([reader, life, stop], return_when=asyncio.FIRST_COMPLETED)
            life.cancel()
            stop.cancel()
            await asyncio.gather(life, stop, return_exceptions=True)
            if reader in done:
                run.counts["closed_by_server"] += 1
                code = str(self.ws.close_code)
                run.close_codes[code] = run.close_codes.get(code, 0) + 1
                self._closed()
            elif stop in done:
                return  # stays connected (its reader running) for the final catch-up
            else:
                run.counts["dropped_by_client"] += 1
                self._closed()
                await self.ws.close()
                await asyncio.gather(reader, return_exceptions=True)
            await asyncio.sleep(self.rng.uniform(0.2, 2.0))

    async def catch_up(self, code: str, timeout: float) -> bool:
        st = self.groups[code]
        await self.request_resume(code)
        try:
            await asyncio.wait_for(st.caught_up.wait(), timeout)
        except TimeoutError:
            return False
        return self.connected and st.contig >= st.max_held

    async def final(self) -> bool:
        """After the traffic: connected (again if need be), every group resumed until nothing is newer."""
        for _attempt in range(5):
            if self.reader is not None and self.reader.done():
                self._closed()
            if not self.connected:
                if self.ws is not None:
                    await self.ws.close()
                if not await self.connect():
                    await asyncio.sleep(1)
                    continue
                self.reader = asyncio.create_task(self.read())
            results = [await self.catch_up(code, 60) for code in self.active_groups()]
            if all(results):
                return True
        return False


class SoakRun:
    def __init__(self, server: Server, groups: dict[str, dict], members, homes: list[str]):
        self.server = server
        self.groups = groups  # code -> {"id", "owner": client index, "size"}
        self.tag = os.urandom(3).hex()
        self.stop = asyncio.Event()
        self.serial = 0
        self.sent_at: dict[str, float] = {}
        self.sent_mute: dict[str, str] = {}
        self.acked: dict[str, set[int]] = {}
        self.latencies = array("d")
        self.latency_at = array("d")  # when each measured message was sent, from the start of the traffic
        self.traffic_started = time.perf_counter()
        self.deliveries = 0
        self.error_codes: dict[str, int] = {}
        self.close_codes: dict[str, int] = {}
        self.connect_failures: dict[str, int] = {}
        self.other_frames: dict[str, int] = {}
        self.action_errors: dict[str, int] = {}
        self.early_types: Counter = Counter()
        self.violations: list[dict] = []  # the first few of each kind, for the report
        self.counts: dict[str, int] = dict.fromkeys(
            (
                "sent",
                "retries",
                "acks",
                "duplicate_acks",
                "live",
                "via_resume",
                "redelivered_live",
                "redelivered_by_resume",
                "duplicated",
                "delivered_after_group_left",
                "delivered_while_leaving",
                "gaps_seen",
                "frames_before_hello",
                "resumes",
                "connects",
                "closed_by_server",
                "dropped_by_client",
                "hello_missing_group",
                "hello_lists_left_group",
                "group_joined_unexpected",
                "joins",
                "leaves",
                "leaves_put_off",
                "mutes",
                "unmutes",
                "mute_probes",
                "refused_muted",
                "refused_muted_while_not_muted",
                "accepted_while_muted",
            ),
            0,
        )
        self.clients = [Client(self, i, pk, cookie, homes[i]) for i, (pk, cookie) in enumerate(members)]
        self.admin = ThreadPoolExecutor(1, thread_name_prefix="soak-admin")  # services, one at a time
        self.samples: list[dict] = []
        self.loop_lag: list[float] = []

    def violation(self, kind: str, client: int, group: str | None, seq: int | None = None) -> None:
        self.counts[kind] += 1
        if self.counts[kind] <= 5:
            self.violations.append(
                {"kind": kind, "client": client, "group": group, "seq": seq, "at": time.time()}
            )

    async def in_admin(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.admin, fn, *args)

    def _action_failed(self, what: str, exc: Exception) -> None:
        key = f"{what}: {getattr(exc, 'code', '') or type(exc).__name__}"
        self.action_errors[key] = self.action_errors.get(key, 0) + 1


# --- services, in the admin thread ----------------------------------------------------------------------


def _actor(user_id: int):
    from django.contrib.auth import get_user_model

    from common.actors import Actor, Door

    return Actor.for_user(get_user_model().objects.get(pk=user_id), door=Door.WEB)


def _join(group_id: int, owner_id: int, user_id: int) -> int:
    """The owner invites; the invitee confirms where the group's size asks for it. The group's last
    number at the join (read under its row lock by ``_membership_add``)."""
    from groups import services
    from groups.models import ChatGroup, Invitation, Membership

    group = ChatGroup.objects.get(pk=group_id)
    owner, member = _actor(owner_id), _actor(user_id)
    result = services.invitation_create(actor=owner, group=group, invitee=member.user)
    if isinstance(result, Invitation):
        services.invitation_respond(actor=member, invitation=result, accept=True)
    return Membership.objects.get(group_id=group_id, user_id=user_id, left_at__isnull=True).last_read_seq


def _leave(group_id: int, user_id: int) -> None:
    from groups import services
    from groups.models import ChatGroup

    services.membership_leave(actor=_actor(user_id), group=ChatGroup.objects.get(pk=group_id))


def _mute(group_id: int, owner_id: int, user_id: int, on: bool) -> None:
    from groups import services
    from groups.models import ChatGroup

    owner, member = _actor(owner_id), _actor(user_id)
    group = ChatGroup.objects.get(pk=group_id)
    if on:
        services.membership_mute(actor=owner, group=group, member=member.user, minutes=1, reason="soak")
    else:
        services.membership_unmute(actor=owner, group=group, member=member.user)


def _close_connection() -> None:
    from django.db import connection

    connection.close()


# --- the load --------------------------------------------------------------------------------------------


async def _senders(run: SoakRun, rate: float) -> None:
    """``rate`` messages a second in all, at even intervals, each from a random connected member into one
    of its groups."""
    rng = random.Random(1)
    started = time.perf_counter()
    i = 0
    while not run.stop.is_set():
        i += 1
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        for _try in range(20):
            client = rng.choice(run.clients)
            codes = client.active_groups() if client.connected else []
            if codes:
                await client.send_message(rng.choice(codes))
                break


async def _churn(run: SoakRun, interval: float, extra_share: float) -> None:
    """Joins and leaves of groups other than a client's home group, one every ``interval`` seconds."""
    rng = random.Random(2)
    owners = {g["owner"] for g in run.groups.values()}
    left_at: dict[tuple[int, str], float] = {}
    while not run.stop.is_set():
        await asyncio.sleep(interval * rng.uniform(0.5, 1.5))
        if run.stop.is_set():
            return
        extras = [
            (c, code)
            for c in run.clients
            for code in c.active_groups()
            if code != c.home and c.index not in owners and c.groups[code].mute == "no"
        ]
        join = len(extras) < extra_share * len(run.clients) or rng.random() < 0.5
        if join:
            client = rng.choice(run.clients)
            choices = [
                code
                for code in run.groups
                if not client.state(code).active
                and not client.groups[code].joining
                and not client.groups[code].leaving
                and time.monotonic() - left_at.get((client.index, code), -99) > 10
            ]
            if not choices or client.index in owners:
                continue
            code = rng.choice(choices)
            st = client.groups[code]
            st.joining = True
            st.left_on_conn = False  # this connection carries the group again from the join
            group = run.groups[code]
            try:
                start = await run.in_admin(
                    _join, group["id"], run.clients[group["owner"]].user_id, client.user_id
                )
            except Exception as exc:  # counted
                run._action_failed("join", exc)
                st.joining = False
                continue
            st.open_span(start)
            st.joining = False
            run.counts["joins"] += 1
            if client.connected:
                await client.request_resume(code)
        elif extras:
            client, code = rng.choice(extras)
            if not client.connected:
                continue
            st = client.groups[code]
            if not await client.catch_up(code, 30):
                run.counts["leaves_put_off"] += 1  # not caught up in time (a slow server): another time
                continue
            st.leaving = True  # what arrives from here until group_left is allowed, not required
            span = st.spans[-1]
            span[1], span[3] = st.contig, time.time()
            try:
                await run.in_admin(_leave, run.groups[code]["id"], client.user_id)
            except Exception as exc:  # counted
                run._action_failed("leave", exc)
                span[1] = span[3] = None
                st.leaving = False
                continue
            st.leaving = False
            st.left_wall = time.time()
            left_at[(client.index, code)] = time.monotonic()
            run.counts["leaves"] += 1


async def _mutes(run: SoakRun, interval: float) -> None:
    """An owner mutes a member of the group for a minute; the member tries to send at once (refused),
    5-30 s later the owner unmutes and the member sends again (accepted)."""
    rng = random.Random(3)
    owners = {g["owner"] for g in run.groups.values()}
    muted: set[tuple[int, str]] = set()

    async def probe(client: Client, code: str) -> None:
        if client.connected and client.groups[code].active and not run.stop.is_set():
            run.counts["mute_probes"] += 1
            await client.send_message(code)

    async def one(client: Client, code: str) -> None:
        st = client.groups[code]
        group = run.groups[code]
        owner_id = run.clients[group["owner"]].user_id
        st.set_mute("changing")
        try:
            await run.in_admin(_mute, group["id"], owner_id, client.user_id, True)
        except Exception as exc:  # counted
            run._action_failed("mute", exc)
            st.set_mute("no")
            muted.discard((client.index, code))
            return
        st.set_mute("yes")
        run.counts["mutes"] += 1
        await asyncio.sleep(0.2)
        await probe(client, code)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.stop.wait(), rng.uniform(5, 30))
        st.set_mute("changing")
        try:
            await run.in_admin(_mute, group["id"], owner_id, client.user_id, False)
            run.counts["unmutes"] += 1
            st.set_mute("no")
        except Exception as exc:  # counted; the mute ends within the minute
            run._action_failed("unmute", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.stop.wait(), 61)
            st.set_mute("no")
        muted.discard((client.index, code))
        await probe(client, code)

    tasks = []
    while not run.stop.is_set():
        await asyncio.sleep(interval * rng.uniform(0.5, 1.5))
        if run.stop.is_set():
            break
        client = rng.choice(run.clients)
        codes = [code for code in client.active_groups() if (client.index, code) not in muted]
        if client.index in owners or not codes:
            continue
        code = rng.choice(codes)
        muted.add((client.index, code))
        tasks.append(asyncio.create_task(one(client, code)))
    await asyncio.gather(*tasks)


def _peer(conn, port: int) -> str:
    """What a TCP socket of the server is: a client's, PostgreSQL's, Redis's, the listening one."""
    if conn.status == "LISTEN":
        return "listen"
    if conn.laddr and conn.laddr.port == port:
        return f"client {conn.status.lower()}"
    remote = conn.raddr.port if conn.raddr else 0
    return {5432: "postgres", 6379: "redis"}.get(remote, f"other {conn.status.lower()}")


async def _sample(run: SoakRun, every: float) -> None:
    import psutil
    import redis.asyncio as aioredis

    process = psutil.Process(run.server.pid)
    store = aioredis.Redis.from_url(run.server.redis_url)
    started = time.perf_counter()
    try:
        while not run.stop.is_set():
            layer = 0
            async for _key in store.scan_iter(match="asgi*", count=1000):
                layer += 1
            memory = process.memory_info()
            peers = Counter(_peer(conn, run.server.port) for conn in process.net_connections("tcp"))
            run.samples.append(
                {
                    "t_s": round(time.perf_counter() - started, 1),
                    "rss_mb": round(memory.rss / 2**20, 2),
                    "fds": process.num_fds(),
                    "sockets": dict(peers),
                    "threads": process.num_threads(),
                    "redis_keys": await store.dbsize(),
                    "channel_layer_keys": layer,
                    "server_cpu_s": round(cpu_seconds(run.server.pid), 1),
                    "clients_connected": sum(c.connected for c in run.clients),
                    "deliveries": run.deliveries,
                }
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.stop.wait(), every)
    finally:
        await store.aclose()


async def _watch_loop(run: SoakRun) -> None:
    """How late the client's own event loop wakes up: if the clients cannot keep up, it shows here."""
    while not run.stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.1)
        run.loop_lag.append(time.perf_counter() - before - 0.1)


async def _soak(run: SoakRun, args) -> dict:
    started = time.perf_counter()
    cpu_before = (own_cpu(), cpu_seconds(run.server.pid), postgres_cpu(), redis_cpu(run.server.redis_url))
    sampler = asyncio.create_task(_sample(run, args.sample_every))
    watch = asyncio.create_task(_watch_loop(run))
    # Connect 25 at a time (as the other socket benchmarks do), then the traffic.
    for i in range(0, len(run.clients), 25):
        batch = run.clients[i : i + 25]
        for c in batch:
            c.task = asyncio.create_task(c.live(args.mean_life))
        for _ in range(100):
            if all(c.connected for c in batch):
                break
            await asyncio.sleep(0.05)
    progress(
        f"{len(run.clients)} clients connecting in {time.perf_counter() - started:.1f} s; traffic starts"
    )
    traffic_started = run.traffic_started = time.perf_counter()
    load = [
        asyncio.create_task(_senders(run, args.rate)),
        asyncio.create_task(_churn(run, args.churn_every, 0.1)),
        asyncio.create_task(_mutes(run, args.mute_every)),
    ]
    seconds = args.minutes * 60
    next_report = 60.0 if seconds > 120 else 15.0
    while time.perf_counter() - traffic_started < seconds:
        await asyncio.sleep(1)
        if time.perf_counter() - traffic_started >= next_report:
            s = run.samples[-1] if run.samples else {}
            progress(
                f"{next_report / 60:.1f} min: sent {run.counts['sent']}, acked {run.counts['acks']}, "
                f"deliveries {run.deliveries}, connects {run.counts['connects']}, "
                f"joins {run.counts['joins']}, "
                f"leaves {run.counts['leaves']}, mutes {run.counts['mutes']}, rss {s.get('rss_mb')} MB, "
                f"fds {s.get('fds')}, errors {run.error_codes}"
            )
            next_report += 60.0 if seconds > 120 else 15.0
    run.stop.set()
    traffic_s = time.perf_counter() - traffic_started
    cpu_after = (own_cpu(), cpu_seconds(run.server.pid), postgres_cpu(), redis_cpu(run.server.redis_url))
    await asyncio.gather(*load, return_exceptions=True)
    await asyncio.gather(*(c.task for c in run.clients), return_exceptions=True)
    await asyncio.gather(sampler, watch, return_exceptions=True)
    # Wait for the answers to what was sent, then every client catches up.
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and any(c.pending and c.connected for c in run.clients):
        await asyncio.sleep(0.2)
    progress("traffic stopped; final catch-up")
    caught = []
    for i in range(0, len(run.clients), 50):
        caught += await asyncio.gather(*(c.final() for c in run.clients[i : i + 50]))
    final_sample = run.samples[-1] if run.samples else {}
    for c in run.clients:
        if c.ws is not None:
            await c.ws.close()
        c._closed()
    await asyncio.gather(
        *(r for c in run.clients if (r := getattr(c, "reader", None))), return_exceptions=True
    )
    await run.in_admin(_close_connection)
    run.admin.shutdown()
    cpu = [(a - b) / traffic_s for a, b in zip(cpu_after, cpu_before, strict=True)]
    return {
        "traffic_s": round(traffic_s, 1),
        "clients_caught_up": sum(caught),
        "cpu_share": {
            "client": round(cpu[0], 2),
            "server": round(cpu[1], 2),
            "postgres": round(cpu[2], 2),
            "redis": round(cpu[3], 2),
        },
        "last_sample_before_close": final_sample,
    }


# --- the verdict -----------------------------------------------------------------------------------------


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _y in points) / n
    my = sum(y for _x, y in points) / n
    var = sum((x - mx) ** 2 for x, _y in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def _memory(run: SoakRun, warmup_s: float) -> dict:
    after = [s for s in run.samples if s["t_s"] >= warmup_s]
    if len(after) < 2:
        return {"verdict": "too few samples after the warm-up"}
    first, last = after[0], after[-1]
    slope = _slope([(s["t_s"] / 60, s["rss_mb"]) for s in after])
    growth = (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"]
    flat = slope < FLAT_SLOPE_MB_MIN and growth < FLAT_GROWTH
    return {
        "rss_start_mb": run.samples[0]["rss_mb"],
        "rss_after_warmup_mb": first["rss_mb"],
        "rss_end_mb": last["rss_mb"],
        "rss_max_mb": max(s["rss_mb"] for s in after),
        "slope_mb_per_min": round(slope, 3),
        "growth_after_warmup": round(growth, 4),
        "fds_after_warmup": first["fds"],
        "fds_end": last["fds"],
        "fds_max": max(s["fds"] for s in after),
        "fds_slope_per_min": round(_slope([(s["t_s"] / 60, s["fds"]) for s in after]), 2),
        "threads_end": last["threads"],
        "channel_layer_keys_after_warmup": first["channel_layer_keys"],
        "channel_layer_keys_end": last["channel_layer_keys"],
        "redis_keys_after_warmup": first["redis_keys"],
        "redis_keys_end": last["redis_keys"],
        "samples_after_warmup": len(after),
        "flat": flat,
        "verdict": "flat" if flat else "GROWING",
    }


def _check(run: SoakRun, group_ids: dict[str, int]) -> dict:
    """Every client against the database (see the module's docstring)."""
    from groups.models import ChatGroup, Message

    rows: dict[str, list[tuple[int, str, float]]] = {}
    for code, gid in group_ids.items():
        rows[code] = [
            (seq, cmid, created.timestamp())
            for seq, cmid, created in Message.objects.filter(group_id=gid, seq__isnull=False)
            .order_by("seq")
            .values_list("seq", "client_msg_id", "created_at")
        ]
    last_seq = dict(ChatGroup.objects.filter(pk__in=group_ids.values()).values_list("code", "last_seq"))
    gapless = all([r[0] for r in rows[code]] == list(range(1, len(rows[code]) + 1)) for code in rows)
    db_seq = {cmid: seq for rs in rows.values() for seq, cmid, _t in rs}
    acked_twice = sum(1 for seqs in run.acked.values() if len(seqs) > 1)
    acked_missing = sum(1 for cmid, seqs in run.acked.items() if seqs != {db_seq.get(cmid)})
    created_at = {code: {seq: t for seq, _cmid, t in rs} for code, rs in rows.items()}
    lost, lost_clients, expected_total, missed_live = 0, 0, 0, 0
    lost_examples = []
    for c in run.clients:
        client_lost = 0
        for code, st in c.groups.items():
            created = created_at[code]
            for start, end, start_wall, end_wall in st.spans:
                end = last_seq[code] if end is None else end
                for seq in range(start + 1, end + 1):
                    expected_total += 1
                    if seq not in st.held:
                        client_lost += 1
                        if len(lost_examples) < 10:
                            lost_examples.append({"client": c.index, "group": code, "seq": seq})
                    elif seq not in st.live:
                        at = created.get(seq, 0.0)
                        in_span = start_wall + MARGIN_S <= at <= (end_wall or float("inf")) - MARGIN_S
                        if in_span and any(
                            o + MARGIN_S <= at <= (e or float("inf")) - MARGIN_S for o, e in c.connections
                        ):
                            missed_live += 1
        lost += client_lost
        lost_clients += bool(client_lost)
    return {
        "database_gapless": gapless,
        "messages_stored": sum(len(r) for r in rows.values()),
        "messages_per_group": {code: len(r) for code, r in rows.items()},
        "acked_not_stored_as_acked": acked_missing,
        "sends_unanswered": sum(len(c.pending) for c in run.clients),
        "acked_with_two_seqs": acked_twice,
        "expected_client_messages": expected_total,
        "lost": lost,
        "clients_with_loss": lost_clients,
        "lost_examples": lost_examples,
        "missed_live_recovered_by_resume": missed_live,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 clients for one minute")
    parser.add_argument("--clients", type=int, default=None, help="500 (quick: 50)")
    parser.add_argument("--minutes", type=float, default=None, help="10 (quick: 1)")
    parser.add_argument("--rate", type=float, default=None, help="messages a second in all: 10")
    parser.add_argument("--mean-life", type=float, default=None, help="mean seconds a socket lives: 120")
    parser.add_argument("--churn-every", type=float, default=None, help="seconds between joins/leaves: 1.5")
    parser.add_argument("--mute-every", type=float, default=None, help="seconds between mutes: 6")
    parser.add_argument("--warmup", type=float, default=None, help="seconds before memory counts: 120")
    parser.add_argument("--sample-every", type=float, default=None, help="seconds between samples: 5")
    parser.add_argument("--database", default="bench_soak")
    parser.add_argument(
        "--redis-db", type=int, default=None, help="Redis database (default the benchmarks' 12)"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.clients = args.clients or (50 if quick else 500)
    args.minutes = args.minutes or (1.0 if quick else 10.0)
    args.rate = args.rate or 10.0
    args.mean_life = args.mean_life or (20.0 if quick else 120.0)
    args.churn_every = args.churn_every or (1.0 if quick else 1.5)
    args.mute_every = args.mute_every or (3.0 if quick else 6.0)
    args.warmup = args.warmup if args.warmup is not None else (20.0 if quick else 120.0)
    args.sample_every = args.sample_every or (2.0 if quick else 5.0)

    from bench.harness import (
        BENCH_REDIS_DB,
        bench_redis_url,
        percentile,
        print_table,
        setup_django,
        write_results,
    )

    redis_url = os.environ["REDIS_URL"] = bench_redis_url(
        BENCH_REDIS_DB if args.redis_db is None else args.redis_db
    )
    setup_django(args.database)
    redis_flush(redis_url)
    set_up = time.perf_counter()
    load_demo_lexicon()
    members = make_members(args.clients, prefix="soak")
    sizes = [max(2, round(share * args.clients)) for share in SHARES]
    sizes[0] += args.clients - sum(sizes)
    groups: dict[str, dict] = {}
    homes: list[str] = []
    first = 0
    for n, size in enumerate(sizes):
        ids = [pk for pk, _c in members[first : first + size]]
        gid, code = make_group(ids, name=f"浸泡群{n + 1}")
        groups[code] = {"id": gid, "owner": first, "size": size}
        homes += [code] * size
        first += size
    from django.db import connection

    from groups.models import ChatGroup

    start_seq = dict(
        ChatGroup.objects.filter(pk__in=[g["id"] for g in groups.values()]).values_list("code", "last_seq")
    )
    connection.close()
    setup_s = time.perf_counter() - set_up
    progress(f"set-up: {args.clients} members in groups of {sizes} in {setup_s:.0f} s")

    server = Server(redis_url).start()
    try:

        async def go():
            run = SoakRun(server, groups, members, homes)
            for c in run.clients:
                c.state(c.home).open_span(start_seq[c.home])
            return run, await _soak(run, args)

        run, timing = asyncio.run(go())
    finally:
        exceptions = server.exceptions()
        errors = server.errors()
        server.stop()
    check = _check(run, {code: g["id"] for code, g in groups.items()})
    connection.close()
    memory = _memory(run, args.warmup)
    lat = run.latencies
    warm = [x for x, at in zip(lat, run.latency_at, strict=True) if at >= args.warmup]
    lag = run.loop_lag
    counts = run.counts
    results = {
        "clients": args.clients,
        "groups": {code: g["size"] for code, g in groups.items()},
        "minutes": args.minutes,
        "rate_msg_per_s": args.rate,
        "mean_socket_life_s": args.mean_life,
        "churn_every_s": args.churn_every,
        "mute_every_s": args.mute_every,
        "warmup_s": args.warmup,
        "setup_s": round(setup_s, 1),
        **timing,
        **check,
        "duplicated": counts["duplicated"],
        "sent_per_s": round(counts["sent"] / timing["traffic_s"], 1),
        "deliveries_live": run.deliveries,
        "deliveries_per_s": round(run.deliveries / timing["traffic_s"]),
        "latency_ms": {
            "p50": round(percentile(lat, 0.50) * 1000, 1),
            "p95": round(percentile(lat, 0.95) * 1000, 1),
            "p99": round(percentile(lat, 0.99) * 1000, 1),
            "max": round(max(lat, default=0) * 1000, 1),
            "samples": len(lat),
        },
        "latency_after_warmup_ms": {
            f"p{q}": round(percentile(warm, q / 100) * 1000, 1) for q in (50, 95, 99)
        },
        "client_loop_lag_ms": {
            "p50": round(percentile(lag, 0.5) * 1000, 1),
            "p99": round(percentile(lag, 0.99) * 1000, 1),
            "max": round(max(lag, default=0) * 1000, 1),
        },
        "counts": counts,
        "error_codes": run.error_codes,
        "close_codes_by_server": run.close_codes,
        "connect_failures": run.connect_failures,
        "action_errors": run.action_errors,
        "other_frames": run.other_frames,
        "frames_before_hello_by_type": dict(run.early_types),
        "violation_examples": run.violations,
        "memory": memory,
        "samples": run.samples,
        "server_exceptions": exceptions,
        "server_error_lines": len(errors),
        "server_errors_sample": sorted(set(errors))[:10],
        "load_average": os.getloadavg(),
    }
    violations = (
        check["lost"]
        + counts["duplicated"]
        + counts["delivered_after_group_left"]
        + counts["accepted_while_muted"]
        + counts["refused_muted_while_not_muted"]
        + check["acked_with_two_seqs"]
        + check["acked_not_stored_as_acked"]
        + counts["hello_lists_left_group"]
        + counts["hello_missing_group"]
    )
    results["exactly_once_ok"] = (
        violations == 0 and check["database_gapless"] and timing["clients_caught_up"] == args.clients
    )
    results["target_ok"] = results["exactly_once_ok"] and memory.get("flat", False)
    m = memory
    rows = [
        (
            "clients, groups",
            f"{args.clients} in {sizes}",
            f"{args.minutes:g} min, load average {os.getloadavg()[0]:.1f}",
        ),
        (
            "messages sent / acked / stored",
            f"{counts['sent']} / {counts['acks']} / {check['messages_stored']}",
            f"{results['sent_per_s']} msg/s; database gapless {check['database_gapless']}",
        ),
        (
            "deliveries live / by resume",
            f"{run.deliveries} / {counts['via_resume']}",
            f"{results['deliveries_per_s']} live deliveries/s",
        ),
        (
            "lost / duplicated (target 0)",
            f"{check['lost']} / {counts['duplicated']}",
            f"of {check['expected_client_messages']} client-messages; clients caught up "
            f"{timing['clients_caught_up']} of {args.clients}",
        ),
        (
            "redelivered, dropped by the client as the protocol says",
            f"live {counts['redelivered_live']}, by resume {counts['redelivered_by_resume']}",
            f"missed live while connected (resume filled them) {check['missed_live_recovered_by_resume']}",
        ),
        (
            "latency send -> receive (ms)",
            "p50 {p50} p95 {p95} p99 {p99} max {max}".format(**results["latency_ms"]),
            f"client loop lag p99 {results['client_loop_lag_ms']['p99']} ms",
        ),
        (
            "latency after the warm-up (ms)",
            "p50 {p50} p95 {p95} p99 {p99}".format(**results["latency_after_warmup_ms"]),
            f"frames before hello {counts['frames_before_hello']} {dict(run.early_types)}",
        ),
        (
            "connects / dropped by client / closed by server",
            f"{counts['connects']} / {counts['dropped_by_client']} / {counts['closed_by_server']}",
            f"close codes {run.close_codes}; failed connects {run.connect_failures}",
        ),
        (
            "sends retried after reconnect / answered as repeats",
            f"{counts['retries']} / {counts['duplicate_acks']}",
        ),
        (
            "joins / leaves / mutes / unmutes",
            f"{counts['joins']} / {counts['leaves']} / {counts['mutes']} / {counts['unmutes']}",
            f"action errors {run.action_errors}",
        ),
        (
            "muted sends refused / accepted while muted",
            f"{counts['refused_muted']} / {counts['accepted_while_muted']}",
            f"refused while not muted {counts['refused_muted_while_not_muted']}; "
            f"frames after group_left {counts['delivered_after_group_left']}",
        ),
        ("error frames by code", str(run.error_codes)),
        (
            "server RSS after warm-up / end / max (MB)",
            f"{m.get('rss_after_warmup_mb')} / {m.get('rss_end_mb')} / {m.get('rss_max_mb')}",
            f"slope {m.get('slope_mb_per_min')} MB/min: {m.get('verdict')}",
        ),
        (
            "server fds after warm-up / end; channel-layer keys",
            f"{m.get('fds_after_warmup')} / {m.get('fds_end')}",
            f"{m.get('channel_layer_keys_after_warmup')} -> {m.get('channel_layer_keys_end')}",
        ),
        (
            "cpu share (of one core)",
            " ".join(f"{k} {v:.0%}" for k, v in timing["cpu_share"].items()),
        ),
        ("server tracebacks logged", sum(exceptions.values()), str(exceptions)),
        ("every client every message exactly once; memory flat", results["target_ok"]),
    ]
    print_table("soak", rows)
    write_results("soak", results)
    return results


if __name__ == "__main__":
    main()
