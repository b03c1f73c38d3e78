"""Live chat: 500 WebSocket clients on one server process (docs/benchmarks.md).

A real server (uvicorn, helpdesk.asgi, the Redis channel layer of the benchmark settings)
runs in a subprocess. 250 customers (times BENCH_SCALE) open /ws/chat/ and start a chat,
each from its own loopback address (the start limit is per address); 250 tier-1 agents open
the workspace socket /ws/agent/ with a session cookie, each accepts one chat
(tickets.services.chat.chat_accept, from this process) and joins it. Then every pair talks,
open loop: one message every INTERVAL seconds (8; BENCH_CHAT_INTERVAL), alternately customer
to agent and agent to customer, MESSAGES per side. A message's relay time runs from the sender's
frame leaving to the other end's `chat.message` / `message` frame arriving; one that has not
arrived DRAIN_SECONDS after the last was sent counts as dropped.

Metrics: chat.relay p50 / p99 (ms) with the dropped count, chat.connect (all sockets open,
chats started, accepted and joined), the server's CPU use while talking. The chats, their
tickets and customers are deleted afterwards; the agents (users "bench-chat-agent-N") stay,
marked unavailable.

BENCH_CHAT_PYSPY=FILE.svg records a py-spy flame graph of the server (set-up and talk;
harness.py_spy: FILE.threads.txt collapsed stacks per thread, FILE.idle.txt waiting
included, FILE.gil.txt only the thread holding the interpreter lock).
"""

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.benchmarks.harness import (
    Context,
    Metric,
    cpu_seconds,
    p50,
    percentile,
    prepared,
    py_spy,
    py_spy_end,
    stopwatch,
)

FULL_PAIRS = 250
MESSAGES = 8  # per side and pair
# Seconds between a pair's messages (alternately the customer's and the agent's): each person
# writes every 16 s, brisk for a live chat; BENCH_CHAT_INTERVAL overrides it.
INTERVAL = 8.0
DRAIN_SECONDS = 30.0
USERNAME = "bench-chat-agent-{}"
EMAIL_DOMAIN = "chat-bench.example.com"
ORIGIN = "http://localhost"
ROOT = Path(__file__).resolve().parents[2]
# Customers connect from 127.RUN_OCTET.x.y (the chat start limit counts per address).
RUN_OCTET = random.randint(2, 254)


# --- Data -------------------------------------------------------------------------------


def _create_agents(count: int) -> None:
    """Tier-1 agents (staff, Agents group, profile in tier 1), in a few bulk statements."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User

    from tickets.models import AgentProfile, Tier
    from tickets.roles import AGENTS_GROUP

    existing = set(
        User.objects.filter(username__startswith="bench-chat-agent-").values_list(
            "username", flat=True
        )
    )
    password = make_password(None)  # unusable: they sign in by session only
    users = User.objects.bulk_create(
        [
            User(
                username=USERNAME.format(n), first_name=f"Agent{n}", is_staff=True,
                email=f"agent{n}@{EMAIL_DOMAIN}", password=password,
            )
            for n in range(count)
            if USERNAME.format(n) not in existing
        ]
    )  # fmt: skip
    group = Group.objects.get(name=AGENTS_GROUP)
    User.groups.through.objects.bulk_create(
        [User.groups.through(user_id=u.pk, group_id=group.pk) for u in users]
    )
    profiles = AgentProfile.objects.bulk_create(
        [AgentProfile(user=u, max_chats=3, is_available=False) for u in users]
    )
    tier = Tier.objects.get(level=1)
    AgentProfile.tiers.through.objects.bulk_create(
        [AgentProfile.tiers.through(agentprofile_id=p.pk, tier_id=tier.pk) for p in profiles]
    )


def _agents_online(count: int) -> list[tuple[int, str]]:
    """The first `count` bench agents, available and seen now: (user id, session key)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.utils import timezone

    from tickets.models import AgentProfile

    users = list(
        User.objects.filter(username__in=[USERNAME.format(n) for n in range(count)]).order_by("pk")
    )
    AgentProfile.objects.filter(user__in=users).update(
        is_available=True, last_seen_at=timezone.now()
    )
    # The sessions the server reads: the project's engine, as a browser's sign-in makes them.
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
    agents = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # the user backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        agents.append((user.pk, session.session_key or ""))
    return agents


def _agents_offline() -> None:
    from tickets.models import AgentProfile

    AgentProfile.objects.filter(user__username__startswith="bench-chat-agent-").update(
        is_available=False
    )


def _clean_up() -> int:
    """Delete the benchmark's chats with their tickets, and its customers."""
    from django.db import transaction

    from tickets.models import ChatSession, ContactPoint, Customer, Ticket

    with transaction.atomic():
        chats = ChatSession.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}")
        ticket_ids = list(chats.values_list("ticket_id", flat=True))
        customer_ids = list(
            ContactPoint.objects.filter(value__endswith=f"@{EMAIL_DOMAIN}").values_list(
                "customer_id", flat=True
            )
        )
        chats.delete()
        Ticket.objects.filter(pk__in=ticket_ids).delete()
        Customer.objects.filter(pk__in=customer_ids).delete()
    return len(ticket_ids)


def _accept(pairs: list[tuple[int, int]]) -> None:
    """Each agent accepts its chat, as the workspace's Accept button does."""
    from django.contrib.auth.models import User
    from django.db import connections

    from tickets.services.chat import chat_accept

    users = User.objects.in_bulk([agent for _chat, agent in pairs])
    try:
        for chat_id, agent_id in pairs:
            chat_accept(chat_id=chat_id, agent=users[agent_id])
    finally:
        connections.close_all()


# --- The server -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_server(port: int, ctx: Context) -> subprocess.Popen[bytes]:
    """uvicorn in a subprocess with this process's (benchmark) environment."""
    command = [
        str(Path(sys.executable).parent / "uvicorn"), "helpdesk.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    env = dict(os.environ)
    # The README's advice for an ASGI server: psycopg's pool rather than a connection each
    # time (BENCH_CHAT_POOL=0 measures without it).
    env["DATABASE_POOL"] = os.environ.get("BENCH_CHAT_POOL", "1")
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            ctx.log(f"chat: server pid {server.pid} on port {port}")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start in 60 s")


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- The clients ------------------------------------------------------------------------


@dataclass
class Talk:
    """Send times by client id, per receiving side, and the relay times measured."""

    to_agent: dict[str, float] = field(default_factory=dict)
    to_customer: dict[str, float] = field(default_factory=dict)
    relay_ms: list[float] = field(default_factory=list)
    # (when it was sent, "to_agent" or "to_customer", relay ms): where the slow ones are.
    timeline: list[tuple[float, str, float]] = field(default_factory=list)
    frames: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # refusals by code


async def _read(ws: Any, side: str, talk: Talk, inbox: asyncio.Queue[dict[str, Any]]) -> None:
    """Record relayed messages as they arrive; everything else goes to the inbox."""
    import websockets

    expected, kind = (
        (talk.to_agent, "chat.message") if side == "agent" else (talk.to_customer, "message")
    )
    try:
        async for frame in ws:
            arrived = time.perf_counter()
            talk.frames += 1
            data = json.loads(frame)
            if data.get("type") in ("error", "chat.error"):
                talk.errors[data.get("code", "")] = talk.errors.get(data.get("code", ""), 0) + 1
            if data.get("type") == kind:
                sent = expected.pop(data["message"].get("client_id") or "", None)
                if sent is not None:
                    talk.relay_ms.append((arrived - sent) * 1000)
                    talk.timeline.append((sent, f"to_{side}", (arrived - sent) * 1000))
                    continue
            await inbox.put(data)
    except websockets.ConnectionClosed:
        pass


async def _until(inbox: asyncio.Queue[dict[str, Any]], kind: str, timeout: float = 60) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            data = await inbox.get()
            if data.get("type") == kind:
                return data


@dataclass
class Side:
    ws: Any
    inbox: asyncio.Queue[dict[str, Any]]
    reader: asyncio.Task[None]


async def _open(url: str, side: str, talk: Talk, **options: Any) -> Side:
    import websockets

    ws = await websockets.connect(url, origin=ORIGIN, open_timeout=60, max_queue=None, **options)
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    return Side(ws, inbox, asyncio.create_task(_read(ws, side, talk, inbox)))


async def _customer(base: str, number: int, talk: Talk) -> tuple[Side, int]:
    """A customer's socket with a started chat; returns it and the chat id."""
    from channels_ingest.chat.consumers import TOKENS

    address = f"127.{RUN_OCTET}.{number // 250}.{number % 250 + 1}"
    side = await _open(f"{base}/ws/chat/", "customer", talk, local_addr=(address, 0))
    await _until(side.inbox, "status")
    start = {
        "type": "start", "name": f"Customer {number}", "email": f"c{number}@{EMAIL_DOMAIN}",
        "text": random.choice(FIRST_MESSAGES), "client_id": str(uuid.uuid4()),
    }  # fmt: skip
    await side.ws.send(json.dumps(start))
    session = await _until(side.inbox, "session")
    chat_id = TOKENS.value(session["token"])
    assert chat_id is not None
    return side, chat_id


FIRST_MESSAGES = [
    "Hi, my VPN keeps disconnecting every few minutes",
    "I can't sign in, it says my account is locked",
    "Our invoice is higher than usual this month",
    "The export to Excel fails with an error",
    "How do I add a colleague to our workspace?",
]
LINES = [
    "Thanks, let me try that.", "It still shows the same error.", "Which version do you have?",
    "Could you send a screenshot?", "OK, restarting the client now.", "That worked, thank you!",
    "Can you check the settings page?", "One moment please.", "I'm on Windows 11.",
]  # fmt: skip


async def _talk(customer: Side, agent: Side, chat_id: int, talk: Talk, *, interval: float) -> None:
    """Alternate customer and agent messages, one every `interval` seconds (open loop)."""
    await asyncio.sleep(random.uniform(0, interval))
    for _ in range(MESSAGES):
        client_id = str(uuid.uuid4())
        talk.to_agent[client_id] = time.perf_counter()
        await customer.ws.send(
            json.dumps({"type": "message", "client_id": client_id, "text": random.choice(LINES)})
        )
        await asyncio.sleep(interval)
        client_id = str(uuid.uuid4())
        talk.to_customer[client_id] = time.perf_counter()
        await agent.ws.send(
            json.dumps(
                {
                    "type": "chat.message",
                    "chat": chat_id,
                    "client_id": client_id,
                    "text": random.choice(LINES),
                }
            )
        )
        await asyncio.sleep(interval)


@dataclass
class Outcome:
    relay_ms: list[float]
    dropped: int
    sent: int
    setup_seconds: float
    talk_seconds: float
    server_cpu_seconds: float
    client_cpu_seconds: float
    frames: int
    errors: dict[str, int]
    timeline: list[tuple[float, str, float]]


async def _drive(
    port: int, agents: list[tuple[int, str]], server_pid: int, ctx: Context
) -> Outcome:
    profiler = py_spy(server_pid, os.environ.get("BENCH_CHAT_PYSPY"))
    try:
        return await _converse(port, agents, server_pid, ctx)
    finally:
        py_spy_end(profiler)


async def _converse(
    port: int, agents: list[tuple[int, str]], server_pid: int, ctx: Context
) -> Outcome:
    interval = float(os.environ.get("BENCH_CHAT_INTERVAL", INTERVAL))
    base = f"ws://127.0.0.1:{port}"
    talk = Talk()
    started = time.perf_counter()
    agent_sides = []
    for batch in range(0, len(agents), 50):  # handshakes in batches, as a morning's logins
        agent_sides += await asyncio.gather(
            *(
                _open(f"{base}/ws/agent/", "agent", talk,
                      additional_headers={"Cookie": f"sessionid={key}"})
                for _pk, key in agents[batch : batch + 50]
            )
        )  # fmt: skip
    for side in agent_sides:
        await _until(side.inbox, "unread")
    ctx.log(f"chat: {len(agent_sides)} agents connected in {time.perf_counter() - started:.1f} s")
    customers: list[tuple[Side, int]] = []
    for batch in range(0, len(agents), 50):
        customers += await asyncio.gather(
            *(_customer(base, n, talk) for n in range(batch, min(batch + 50, len(agents))))
        )
        ctx.log(f"chat: {len(customers)} chats started ({time.perf_counter() - started:.1f} s)")
    pairs = [(chat_id, agent[0]) for (_side, chat_id), agent in zip(customers, agents, strict=True)]
    await asyncio.to_thread(_accept, pairs)
    for (_side, chat_id), agent in zip(customers, agent_sides, strict=True):
        await agent.ws.send(json.dumps({"type": "chat.join", "chat": chat_id}))
    for side, _chat_id in customers:
        await _until(side.inbox, "state")  # accepted
    setup_seconds = time.perf_counter() - started
    ctx.log(f"chat: chats started, accepted and joined in {setup_seconds:.1f} s; talking")
    cpu_before, talk_started = cpu_seconds(server_pid), time.perf_counter()
    own_before = time.process_time()
    await asyncio.gather(
        *(
            _talk(customer, agent, chat_id, talk, interval=interval)
            for (customer, chat_id), agent in zip(customers, agent_sides, strict=True)
        )
    )
    deadline = time.perf_counter() + DRAIN_SECONDS
    while (talk.to_agent or talk.to_customer) and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    talk_seconds = time.perf_counter() - talk_started
    cpu = cpu_seconds(server_pid) - cpu_before
    own_cpu = time.process_time() - own_before
    for side in [*agent_sides, *(c for c, _ in customers)]:
        await side.ws.close()
        side.reader.cancel()
    sent = len(pairs) * MESSAGES * 2
    return Outcome(
        talk.relay_ms, len(talk.to_agent) + len(talk.to_customer), sent, setup_seconds,
        talk_seconds, cpu, own_cpu, talk.frames, talk.errors,
        [(at - talk_started, way, ms) for at, way, ms in talk.timeline],
    )  # fmt: skip


def run(ctx: Context) -> Iterator[Metric]:
    count = ctx.scaled(FULL_PAIRS, minimum=5)
    prepared("chat-agents", ctx.scale, lambda: _create_agents(count), ctx)
    removed = _clean_up()
    if removed:
        ctx.log(f"chat: {removed} chats of an earlier run removed")
    agents = _agents_online(count)
    port = _free_port()
    server = _start_server(port, ctx)
    try:
        with stopwatch() as took:
            outcome = asyncio.run(_drive(port, agents, server.pid, ctx))
    finally:
        _stop_server(server)
        _agents_offline()
        _clean_up()
    ctx.log(f"chat: done in {took['seconds']:.1f} s")
    samples = outcome.relay_ms or [float("nan")]
    interval = float(os.environ.get("BENCH_CHAT_INTERVAL", INTERVAL))
    common = {
        "clients": count * 2,
        "pairs": count,
        "messages_per_second": round(count / interval, 1),
        "database_pool": os.environ.get("BENCH_CHAT_POOL", "1") == "1",
    }
    by_way = {
        way: [ms for _at, w, ms in outcome.timeline if w == way] or [float("nan")]
        for way in ("to_agent", "to_customer")
    }
    # When the slow ones (over 100 ms) were sent, by 10-second slice of the talk.
    slow_by_slice: dict[int, int] = {}
    for at, _way, ms in outcome.timeline:
        if ms > 100:
            slow_by_slice[int(at // 10) * 10] = slow_by_slice.get(int(at // 10) * 10, 0) + 1
    yield Metric(
        "chat.relay", p50(samples), "ms", len(outcome.relay_ms),
        {"p99": round(percentile(samples, 0.99), 3), "max": round(max(samples), 3),
         "p99_to_agent": round(percentile(by_way["to_agent"], 0.99), 1),
         "p99_to_customer": round(percentile(by_way["to_customer"], 0.99), 1),
         "slow_by_10s": dict(sorted(slow_by_slice.items())),
         "dropped": outcome.dropped, "sent": outcome.sent, "refused": outcome.errors,
         "target_p99_ms": 100, **common},
    )  # fmt: skip
    yield Metric(
        "chat.setup", outcome.setup_seconds, "s", count,
        {"what": "all sockets open, chats started, accepted and joined", **common},
    )  # fmt: skip
    yield Metric(
        "chat.server_cpu", 100 * outcome.server_cpu_seconds / outcome.talk_seconds, "%",
        outcome.frames,
        {"what": "server process CPU while talking (100% = one core)",
         "clients_cpu_percent": round(100 * outcome.client_cpu_seconds / outcome.talk_seconds, 1),
         "load_average": os.getloadavg()[0], **common},
    )  # fmt: skip
