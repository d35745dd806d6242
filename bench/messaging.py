"""Messaging figures (docs/benchmarks.md): sealed message items sent through the WebSocket `send`
frame and through `POST /api/conversations/{client_id}/items` to a real server (uvicorn, one
worker, as `quietroom serve` runs it), with

- send-to-deliver latency: from the sender writing its frame or request to the recipient's socket
  reading the `item` frame (p50 / p95 / p99);
- sustained throughput (items delivered per second over the run);
- server CPU seconds per message and RSS, read from /proc of the server process;

for 1 pair sending sequentially and for 50 pairs at once; then the RSS that 1,000 idle connected
WebSocket clients add. Items are sealed before the clock starts (sealing is the browser's cost).

    .venv/bin/python bench/messaging.py [--postgres] [--messages 2000] [--pairs 50] [--idle 1000]

Uses a fresh data folder on SQLite; `--postgres` starts a throwaway PostgreSQL cluster (as
scripts/test does; needs root for `runuser -u postgres`). bench/run-messaging runs both.
Figures are printed, never asserted.
"""

# Django and the test world are imported only after the database is chosen (--postgres starts
# one first), so imports sit inside functions here.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test world (tests/messaging/world.py) seeds the practice

WORK = Path(tempfile.mkdtemp(prefix="quietroom-bench-msg-"))
WORK.chmod(0o755)  # the postgres user must reach the cluster folder
PG_PORT = 55434


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster with production durability settings (INT-05)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not bins:
        sys.exit("PostgreSQL server binaries not found (apt-get install postgresql)")
    pgbin, data = bins[-1], WORK / "pg"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")

    def as_postgres(*args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True)

    as_postgres(
        str(pgbin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"
    )
    opts = (
        f"-c listen_addresses=127.0.0.1 -c port={PG_PORT} -c unix_socket_directories={data} "
        "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=200"
    )
    as_postgres(
        str(pgbin / "pg_ctl"), "-D", str(data), "-w", "-l", str(data / "log"), "-o", opts, "start"
    )
    try:
        as_postgres(
            str(pgbin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
            "quietroom",
        )
        yield f"postgres://postgres@127.0.0.1:{PG_PORT}/quietroom"
    finally:
        as_postgres(str(pgbin / "pg_ctl"), "-D", str(data), "-m", "fast", "stop")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# -- the server process, seen from /proc ---------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- a small keep-alive HTTP/1.1 client on asyncio streams ----------------------------------------


class Http:
    """One keep-alive connection, one request at a time (as a browser tab's fetch would be)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "localhost", parts.port or 80
        self.headers = {"Host": parts.netloc, "Connection": "keep-alive", **headers}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    reconnects = 0  # keep-alive connections the server had closed (counted, then reopened)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in {**self.headers, "Content-Length": str(len(body))}.items()
        )
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        if not status_line:
            # The server closed this keep-alive connection while it sat idle (uvicorn's 5 s,
            # when a delivery took that long): open another and send the same bytes again.
            Http.reconnects += 1
            self.writer.close()
            self.writer = None
            return await self.request(method, path, body)
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# -- pairs and their pre-sealed items -------------------------------------------------------------


@dataclass
class Pair:
    client_id: uuid.UUID
    sender_session: str  # the therapist's
    recipient_session: str  # the client's
    uploads: list[bytes] = field(default_factory=list)
    used: int = 0  # uploads already sent by earlier phases

    def take(self, n: int) -> list[bytes]:
        chosen = self.uploads[self.used : self.used + n]
        assert len(chosen) == n, "not enough sealed items for this phase"
        self.used += n
        return chosen


@dataclass
class Run:
    """Timings of one phase: send moments by item id, delivery latencies in ms."""

    sent_at: dict[str, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    refused: list[str] = field(default_factory=list)


def seed(pairs: int) -> tuple[Any, list[tuple[str, str]]]:
    """A keyed, certified practice with `pairs` therapist+client pairs (tests/messaging/world)."""
    from tests.harness.personas import make_personas
    from tests.messaging.world import add_pair, messaging_world

    world = messaging_world(make_personas())
    return world, [add_pair(world, n) for n in range(pairs)]


def seal_for(
    world: Any, names: list[tuple[str, str]], per_pair: int, first_extra: int = 0
) -> list[Pair]:
    from tests.messaging.live import session_for
    from tests.messaging.world import conversation_id, seal_message

    result = []
    for therapist, client in names:
        pair = Pair(
            conversation_id(world, client),
            session_for(world.member(therapist).user),
            session_for(world.member(client).user),
        )
        # A typical short message: ~200 characters of text (padded to 256 bytes when sealed).
        pair.uploads = [
            seal_message(world, therapist, f"{i:06d} " + "x" * 193, client=client)
            for i in range(per_pair + (first_extra if not result else 0))
        ]
        result.append(pair)
    return result


def item_id_of(upload: bytes) -> str:
    item_id: str = json.loads(upload)["hdr"]["item_id"]
    return item_id


# -- the two paths --------------------------------------------------------------------------------

WS_FRAMES_PER_SECOND = 18.0  # each socket may send 20 frames/s (docs/api/websocket.md)


async def recipient(ws: Any, run: Run) -> None:
    """Read until the next `item` frame and record its send-to-deliver latency."""
    async for raw in ws:
        now = time.perf_counter()
        frame = json.loads(raw)
        if frame["type"] != "item":
            continue
        sent = run.sent_at.get(frame["item"]["hdr"]["item_id"])
        if sent is not None:
            run.latencies.append((now - sent) * 1000)
        run.delivered += 1
        return


async def drain(ws: Any, run: Run) -> None:
    """The sender's socket gets `ack` frames (and the item, as the author's other tab would):
    read them so nothing backs up, and note refusals."""
    async for raw in ws:
        frame = json.loads(raw)
        if frame["type"] in ("refused", "error"):
            run.refused.append(json.dumps(frame))


class Sockets:
    """Open one events socket per session (one after another), close them all on exit."""

    def __init__(self, url: str, origin: str, sessions: list[str]) -> None:
        self.url, self.origin, self.sessions = url, origin, sessions
        self.open: list[Any] = []

    async def __aenter__(self) -> list[Any]:
        from tests.messaging.live import frame_of_type, ws_connect

        for session in self.sessions:
            ws = await ws_connect(self.url, self.origin, session)
            await frame_of_type(ws, "hello", timeout=60)
            self.open.append(ws)
        return self.open

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.gather(*(ws.close() for ws in self.open), return_exceptions=True)


async def drive(
    url: str, origin: str, pairs: list[Pair], *, path: str, n: int, send_url: str | None = None
) -> tuple[Run, float]:
    """Each pair's therapist sends `n` items over `path` ("ws" or "http"), one outstanding at a
    time: the next once the client's socket has the previous one (a person typing, not a
    firehose). Senders use `send_url` (another worker) when given. Returns the timings and the
    wall-clock seconds of the run."""
    from tests.messaging.live import CSRF_SECRET, cookie_header

    run = Run()
    send_url = send_url or url
    async with Sockets(url, origin, [p.recipient_session for p in pairs]) as receivers:
        if path == "ws":
            async with Sockets(send_url, origin, [p.sender_session for p in pairs]) as senders:
                drains = [asyncio.create_task(drain(ws, run)) for ws in senders]
                try:
                    return await _drive_pairs(
                        run, pairs=pairs, receivers=receivers, senders=senders, https=None,
                        n=n,
                    )  # fmt: skip
                finally:
                    for task in drains:
                        task.cancel()
        https = [
            Http(send_url, {"Cookie": cookie_header(p.sender_session), "X-CSRFToken": CSRF_SECRET,
                       "Origin": origin, "Content-Type": "application/json"})
            for p in pairs
        ]  # fmt: skip
        try:
            return await _drive_pairs(
                run, pairs=pairs, receivers=receivers, senders=[], https=https, n=n
            )
        finally:
            for h in https:
                await h.close()


async def _drive_pairs(
    run: Run,
    *,
    pairs: list[Pair],
    receivers: list[Any],
    senders: list[Any],
    https: list[Http] | None,
    n: int,
) -> tuple[Run, float]:
    async def one_pair(index: int) -> None:
        pair = pairs[index]
        for upload in pair.take(n):
            waiter = asyncio.create_task(recipient(receivers[index], run))
            started = time.perf_counter()
            run.sent_at[item_id_of(upload)] = started
            if https is None:
                frame = {"type": "send", "ref": 1, "client_id": str(pair.client_id),
                         "item": json.loads(upload)}  # fmt: skip
                await senders[index].send(json.dumps(frame))
            else:
                status, body = await https[index].request(
                    "POST", f"/api/conversations/{pair.client_id}/items", upload
                )
                if status not in (200, 201):
                    run.refused.append(f"{status} {body[:200]!r}")
                    waiter.cancel()
                    continue
            try:
                await asyncio.wait_for(waiter, timeout=30)
            except TimeoutError:
                run.refused.append("not delivered within 30 s")
            if https is None:
                # Stay under the socket's rate limit (20 frames/s per connection).
                pause = 1 / WS_FRAMES_PER_SECOND - (time.perf_counter() - started)
                await asyncio.sleep(max(0.0, pause))

    started = time.perf_counter()
    await asyncio.gather(*(one_pair(i) for i in range(len(pairs))))
    return run, time.perf_counter() - started


async def read_items(ws: Any, run: Run, n: int) -> None:
    """Read `n` `item` frames, recording each one's send-to-deliver latency."""
    for _ in range(n):
        await recipient(ws, run)


async def drive_at_rate(
    url: str, origin: str, pairs: list[Pair], *, rate: float, seconds: float
) -> tuple[Run, float]:
    """Open loop: the pairs' therapists together send `rate` items per second over the socket
    for `seconds`, each on its own schedule whether or not earlier items have arrived (people
    do not wait for each other), staggered across the pairs. Latency is measured as in
    `drive`; the run ends when every item has been delivered."""
    run = Run()
    per_pair = rate / len(pairs)
    n = max(1, round(per_pair * seconds))
    loop = asyncio.get_running_loop()
    async with (
        Sockets(url, origin, [p.recipient_session for p in pairs]) as receivers,
        Sockets(url, origin, [p.sender_session for p in pairs]) as senders,
    ):
        drains = [asyncio.create_task(drain(ws, run)) for ws in senders]
        readers = [asyncio.create_task(read_items(ws, run, n)) for ws in receivers]
        begin = loop.time() + 0.5

        async def one_pair(index: int) -> None:
            pair = pairs[index]
            first = begin + index / len(pairs) / per_pair  # spread the pairs over one interval
            for k, upload in enumerate(pair.take(n)):
                await asyncio.sleep(max(0.0, first + k / per_pair - loop.time()))
                run.sent_at[item_id_of(upload)] = time.perf_counter()
                frame = {"type": "send", "ref": k, "client_id": str(pair.client_id),
                         "item": json.loads(upload)}  # fmt: skip
                await senders[index].send(json.dumps(frame))

        started = time.perf_counter()
        try:
            await asyncio.gather(*(one_pair(i) for i in range(len(pairs))))
            await asyncio.wait_for(asyncio.gather(*readers), timeout=60)
        except TimeoutError:
            run.refused.append("not all delivered within 60 s")
        finally:
            for task in [*drains, *readers]:
                task.cancel()
        return run, time.perf_counter() - started


# -- phases ----------------------------------------------------------------------------------------


@dataclass
class Server:
    """The server processes, whose CPU and RSS are summed."""

    pids: list[int]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def rss(self, key: str = "VmRSS") -> float:
        return sum(rss_mib(pid, key) for pid in self.pids)


def report(
    label: str, server: Server, run_coro: Callable[[], Coroutine[Any, Any, tuple[Run, float]]]
) -> dict[str, Any]:
    cpu0 = server.cpu()
    run, elapsed = asyncio.run(run_coro())
    cpu = server.cpu() - cpu0
    lat = run.latencies
    figures = {
        "phase": label,
        "delivered": run.delivered,
        "seconds": round(elapsed, 2),
        "msg_per_s": round(run.delivered / elapsed, 1),
        "p50_ms": round(statistics.median(lat), 2) if lat else None,
        "p95_ms": round(percentile(lat, 95), 2) if lat else None,
        "p99_ms": round(percentile(lat, 99), 2) if lat else None,
        "server_cpu_ms_per_msg": round(cpu / max(1, run.delivered) * 1000, 3),
        "server_cpu_util": round(cpu / elapsed, 2),
        "server_rss_mib": round(server.rss(), 1),
        "server_peak_rss_mib": round(server.rss("VmHWM"), 1),
        "refused": len(run.refused),
        "http_reconnects": Http.reconnects,
    }
    Http.reconnects = 0
    print(json.dumps(figures), flush=True)
    if run.refused:
        print("  first refusal:", run.refused[0], flush=True)
    return figures


async def idle_clients(url: str, origin: str, sessions: list[str], count: int, pid: int) -> None:
    from tests.messaging.live import frame_of_type, ws_connect

    await asyncio.sleep(2)
    before = rss_mib(pid)
    opened: list[Any] = []
    started = time.perf_counter()

    async def open_one(session: str) -> None:
        ws = await ws_connect(url, origin, session)
        await frame_of_type(ws, "hello", timeout=120)
        opened.append(ws)

    batch = 50  # connect in batches: the handshake reads the session from the database
    for i in range(0, count, batch):
        await asyncio.gather(
            *(open_one(sessions[(i + j) % len(sessions)]) for j in range(min(batch, count - i)))
        )
    took = time.perf_counter() - started
    await asyncio.sleep(5)  # let the server settle
    after = rss_mib(pid)
    print(json.dumps({
        "phase": f"{count} idle WebSocket clients", "connect_seconds": round(took, 1),
        "server_rss_before_mib": round(before, 1), "server_rss_after_mib": round(after, 1),
        "rss_added_mib": round(after - before, 1),
        "per_connection_kib": round((after - before) * 1024 / count, 1),
    }), flush=True)  # fmt: skip
    await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--messages", type=int, default=2000, help="items per run at 50 pairs")
    parser.add_argument("--sequential", type=int, default=300, help="items for the 1-pair runs")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument(
        "--workers", type=int, choices=[1, 2], default=1,
        help="2: two server processes sharing a throwaway Redis; recipients on one, senders on "
        "the other (every item crosses workers)",
    )  # fmt: skip
    parser.add_argument("--only", choices=["ws", "http", "rate", "idle"], action="append")
    parser.add_argument(
        "--rates", default="50,100,200,300",
        help="open-loop socket runs at these total items/s over all pairs (comma-separated)",
    )  # fmt: skip
    parser.add_argument("--rate-seconds", type=float, default=8.0, help="length of each run")
    parser.add_argument(
        "--profile", type=int, metavar="N", default=0,
        help="instead: POST N items in-process (Django's test client) under cProfile",
    )  # fmt: skip
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 sockets each side
    try:
        if args.postgres:
            with postgres_cluster() as url:
                os.environ["QUIETROOM_DATABASE_URL"] = url
                bench(args)
        else:
            bench(args)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


def bench(args: argparse.Namespace) -> None:
    os.environ["QUIETROOM_DATA_DIR"] = str(WORK / "data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quietroom.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    engine = connection.vendor
    print(f"engine: {engine}; python {sys.version.split()[0]}; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    if args.profile:
        profile(args.profile)
        return
    phases = args.only or ["ws", "http", "rate", "idle"]
    per_pair = -(-args.messages // args.pairs)
    rates = [float(r) for r in args.rates.split(",") if r] if "rate" in phases else []
    per_pair_rated = sum(max(1, round(r / args.pairs * args.rate_seconds)) for r in rates)
    started = time.perf_counter()
    world, names = seed(args.pairs)
    # Each path runs on every pair once; pair 0 also carries the warm-up and 1-pair runs.
    pairs = seal_for(
        world, names, per_pair * 2 + per_pair_rated, first_extra=args.sequential * 2 + 20
    )
    print(f"(seeded {args.pairs} pairs and sealed {sum(len(p.uploads) for p in pairs)} items "
          f"in {time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
    from django.conf import settings

    apps, redis = start_workers(args.workers, settings.CONFIG.data_dir)
    app = apps[0]  # recipients (and, with one worker, senders) connect here
    send_url = apps[-1].url
    server = Server([a.process.pid for a in apps])

    refusals = 0

    def phase(label: str, chosen: list[Pair], path: str, n: int) -> None:
        nonlocal refusals
        figures = report(
            label,
            server,
            lambda: drive(app.url, app.url, chosen, path=path, n=n, send_url=send_url),
        )
        refusals += figures["refused"]

    try:
        # Warm-up: the first requests import code and fill caches.
        phase("warm-up (1 pair, http, 20 items)", pairs[:1], "http", 20)
        for path in ("ws", "http"):
            if path in phases:
                phase(f"1 pair sequential, {path}", pairs[:1], path, args.sequential)
                phase(f"{args.pairs} pairs concurrent, {path}", pairs, path, per_pair)
        refusals += open_loop_phases(app.url, server, pairs, rates, args.rate_seconds)
        if "idle" in phases and args.idle > 0:
            from tests.messaging.live import session_for

            users = [world.member(n).user for pair in names for n in pair]
            sessions = [session_for(users[i % len(users)]) for i in range(min(args.idle, 200))]
            asyncio.run(idle_clients(app.url, app.url, sessions, args.idle, app.process.pid))
    finally:
        for each in apps:
            each.stop()
        if redis is not None:
            redis.stop()
        if refusals:
            # Why the server refused: its error log lines (no content or secret is logged).
            logs = [a.log_path for a in apps] + [
                settings.CONFIG.data_dir / "logs" / "quietroom.log"
            ]
            lines = [line for log in logs if log.exists() for line in log.read_text().splitlines()]
            errors = [line for line in lines if "error" in line.lower()]
            print(f"server errors ({len(errors)}), last 5:", *errors[-5:], sep="\n  ")


def open_loop_phases(
    url: str, server: Server, pairs: list[Pair], rates: list[float], seconds: float
) -> int:
    """One open-loop socket run per offered rate; returns how many items were refused."""
    refusals = 0
    for rate in rates:
        figures = report(
            f"{len(pairs)} pairs open loop at {rate:g}/s offered, ws",
            server,
            lambda rate=rate: drive_at_rate(url, url, pairs, rate=rate, seconds=seconds),
        )
        refusals += figures["refused"]
    return refusals


def start_workers(count: int, data_dir: Path) -> tuple[list[Any], Any]:
    """One server process, or two behind one public origin sharing a throwaway Redis."""
    from tests.harness.server import start_app_server

    if count == 1:
        return [start_app_server(data_dir)], None
    from tests.harness.redis import start_redis

    redis = start_redis(WORK / "redis")
    env = {"QUIETROOM_REDIS_URL": redis.url}
    first = start_app_server(data_dir, env)
    second = start_app_server(data_dir, {**env, "QUIETROOM_PUBLIC_URL": first.url})
    return [first, second], redis


def profile(n: int) -> None:
    """Where the server's time per item goes: N POSTs through the whole Django stack
    (middleware, access check, §7.7 checks, storage, audit, delivery to the channel layer) in
    this process, under cProfile; prints the top functions by cumulative and by own time."""
    import cProfile
    import pstats

    from django.test import Client

    world, names = seed(1)
    therapist = names[0][0]
    pair = seal_for(world, names, n + 10)[0]
    http = Client(SERVER_NAME="localhost")
    http.force_login(world.member(therapist).user)
    path = f"/api/conversations/{pair.client_id}/items"
    for upload in pair.uploads[:10]:  # warm-up: imports, caches
        assert http.post(path, upload, content_type="application/json").status_code == 201
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        http.post(path, pair.uploads[10], content_type="application/json")
    print(f"one POST runs {len(queries)} SQL statements:")
    for query in queries.captured_queries:
        print("   ", query["time"], query["sql"][:160])
    uploads = pair.uploads[11:]
    started = time.perf_counter()
    for upload in uploads[: n // 2]:
        http.post(path, upload, content_type="application/json")
    plain = (time.perf_counter() - started) / (n // 2) * 1000
    print(f"{n // 2} POSTs in-process without the profiler: {plain:.2f} ms each")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    rest = uploads[n // 2 :]
    for upload in rest:
        http.post(path, upload, content_type="application/json")
    profiler.disable()
    took = time.perf_counter() - started
    print(f"{len(rest)} POSTs in-process under cProfile: {took / len(rest) * 1000:.2f} ms each")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(45)
    stats.print_callees("store_item|notify_new_item|_decide|post_item")
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
