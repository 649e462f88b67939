"""Benchmark: filing requests through the API under concurrency, against a bare endpoint
of the same stack doing one insert, measured in the same run on PostgreSQL.

    .venv/bin/python bench/requests.py [--rounds 3] [--seconds 10] [--clients 8]

Prints the rate of each and their ratio (target: filing at least 0.6 of the bare rate),
round by round and as the median of the rounds, with the CPU time per request of the
server and of PostgreSQL (on a small machine the load generator, the server and the
database share the cores, so CPU per request is what sets the rate).
The server runs in its own process (waitress, as ``tongxin serve``); the load generator
is this process, with one keep-alive connection per client thread.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from tongxin.core.actors import SYSTEM

HERE = Path(__file__).resolve().parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tongxin_bench_requests"
TARGET = 0.6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str) -> dict:
    """A fresh database with one grid, a grid worker and a household (through the services)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["TONGXIN_DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tongxin.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tongxin.grid.services import node_create
    from tongxin.people import services as people
    from tongxin.registry.services import household_create

    parent = None
    for code, level in [("540230", "county"), ("540230100", "township"), ("540230100001", "village"),
                        ("540230100001001", "grid"), ("540230100001001001", "unit")]:
        parent = node_create(actor=SYSTEM, code=code, level=level, parent=parent, name_zh=code)
    grid = parent.parent
    worker = people.user_create(actor=SYSTEM, username="bench_worker", password="Bench-password-2026!")
    people.role_grant(actor=SYSTEM, user=worker, role="grid_worker", node=grid)
    household = household_create(actor=worker, node=parent, number="001", address="bench")
    token = people.token_issue(user=worker)
    return {"token": token, "unit": parent.code, "household": str(household.pk)}


def start_server(url: str, port: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "TONGXIN_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench_settings",
           "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    code = ("import django; django.setup(); from waitress import serve; "
            "from django.core.wsgi import get_wsgi_application; "
            f"serve(get_wsgi_application(), host='127.0.0.1', port={port}, threads={threads}, _quiet=True)")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used so far (user and system; Linux ``/proc``), 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time used so far by this machine's PostgreSQL processes (0 where there is no ``/proc``
    or the server runs elsewhere); the server's backends live as long as the benchmark's
    persistent connections, so a difference over a round is that round's work."""
    total = 0.0
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
        except OSError:
            continue
    return total


def load(port: int, path: str, body_for, token: str, clients: int, seconds: float,
         server: int = 0) -> tuple[float, list[float], int, float, float]:
    """``clients`` threads post for ``seconds``; returns (requests per second, latencies, errors,
    the server's and PostgreSQL's CPU milliseconds per request)."""
    cpu_before = cpu_seconds(server) if server else 0.0
    pg_before = postgres_cpu_seconds()
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad = [], 0
        while time.monotonic() < stop:
            body = json.dumps(body_for()).encode()
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4())})
            response = conn.getresponse()
            response.read()
            if response.status not in (200, 201):
                bad += 1
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    cpu = (cpu_seconds(server) - cpu_before) * 1000 / len(latencies) if server and latencies else float("nan")
    pg = (postgres_cpu_seconds() - pg_before) * 1000 / len(latencies) if latencies else float("nan")
    return len(latencies) / elapsed, latencies, errors[0], cpu, pg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--rounds", type=int, default=3, help="turns of bare then filing")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="server threads")
    args = parser.parse_args()
    url = os.environ.get("TONGXIN_BENCH_REQUESTS_DATABASE_URL", DEFAULT_URL)
    setup = prepare(url)
    port = free_port()
    server = start_server(url, port, args.threads)
    try:
        def file_body():
            return {"category": "water", "node": setup["unit"], "household": setup["household"],
                    "description": "井水不出水 (benchmark)", "reporter_kind": "grid_worker"}

        def bare_body():
            return {"description": "井水不出水 (benchmark)"}

        load(port, "/bench/bare", bare_body, setup["token"], args.clients, 2)  # warm up both paths
        load(port, "/api/v1/requests", file_body, setup["token"], args.clients, 2)
        # Rounds take turns (bare, file, bare, file, ...) so that a busy moment on a shared
        # machine falls on both alike; the figure is the median of the rounds' ratios.
        rounds = []
        for _ in range(args.rounds):
            bare = load(port, "/bench/bare", bare_body, setup["token"], args.clients, args.seconds, server.pid)
            filed = load(port, "/api/v1/requests", file_body, setup["token"], args.clients, args.seconds, server.pid)
            rounds.append((bare, filed))
    finally:
        server.terminate()
        server.wait(10)

    def p50(xs):
        return statistics.median(xs) * 1000 if xs else float("nan")

    print(f"clients {args.clients}, server threads {args.threads}, {args.rounds} rounds of {args.seconds:.0f} s "
          f"each, PostgreSQL, persistent connections")
    ratios = []
    bare_err = file_err = 0
    for i, ((bare_rate, bare_lat, b_err, b_cpu, b_pg), (file_rate, file_lat, f_err, f_cpu, f_pg)) in enumerate(
            rounds, 1):
        ratio = file_rate / bare_rate if bare_rate else float("nan")
        ratios.append(ratio)
        bare_err, file_err = bare_err + b_err, file_err + f_err
        print(f"round {i}: bare insert {bare_rate:7.1f}/s (p50 {p50(bare_lat):.1f} ms, CPU server {b_cpu:.1f} ms "
              f"PostgreSQL {b_pg:.1f} ms, errors {b_err}); file a request {file_rate:6.1f}/s (p50 "
              f"{p50(file_lat):.1f} ms, CPU server {f_cpu:.1f} ms PostgreSQL {f_pg:.1f} ms, errors {f_err}); "
              f"ratio {ratio:.2f}")
    print(f"baseline bare insert: {statistics.median(r[0][0] for r in rounds):8.1f}/s (median)")
    print(f"file a request:       {statistics.median(r[1][0] for r in rounds):8.1f}/s (median)")
    print(f"ratio filing/bare: {statistics.median(ratios):.2f} (median of {len(ratios)}; target >= {TARGET})")
    return 0 if file_err == 0 and bare_err == 0 and statistics.median(ratios) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
