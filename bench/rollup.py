"""Roll-up at region scale: the API against the best hand-written SQL, on PostgreSQL.

Seeds the ``region`` profile (74 counties, 3.6 million residents) into the bench
database when it is not there yet (about three quarters of an hour on two cores;
reused afterwards), then times ``GET /api/v1/nodes/{code}/rollup`` through Django's
test client, with the bearer token of a dispatch officer at the region node, for
the region and for one county, against raw SQL computing the same figures (one
GROUP BY over a fixed-length prefix of the path copies per figure, on the same
tables and indexes) in the same run. Each is run several times; medians are
compared. Prints one line per node and exits 1 when a ratio is over the target.

    /tmp/venv/bin/python bench/rollup.py [--repeat 9] [--explain] [--reset]

TONGXIN_BENCH_DATABASE_URL picks the database
(default postgresql://postgres@127.0.0.1:5432/tongxin_bench); it is created when
missing. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from tongxin.core.actors import SYSTEM

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tongxin_bench"
TARGET = 1.5
BENCH_USER = "bench_region_dispatch"


def ensure_database(url: str, *, reset: bool) -> None:
    """Create the bench database when it does not exist (``--reset``: drop it first)."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(url)
    if not cfg["ENGINE"].endswith("postgresql"):
        raise SystemExit(f"bench/rollup.py measures PostgreSQL; {url} is not a PostgreSQL URL")
    params = dict(host=cfg["HOST"] or "127.0.0.1", port=cfg["PORT"] or 5432, user=cfg["USER"] or None,
                  password=cfg["PASSWORD"] or None, dbname="postgres", autocommit=True)
    with psycopg.connect(**params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone()
        if exists and reset:
            print(f"dropping database {cfg['NAME']} (--reset)")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(cfg["NAME"])))
            exists = None
        if not exists:
            print(f"creating database {cfg['NAME']}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))


def setup_django(url: str) -> None:
    os.environ["TONGXIN_DATABASE_URL"] = url
    # The key file of the embedded default lives beside the bench's data, not in the work tree.
    data_dir = Path(os.environ.get("TONGXIN_DATA_DIR") or Path.home() / ".cache" / "tongxin-bench")
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TONGXIN_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongxin.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def ensure_region() -> None:
    """Seed the region into an empty database; reuse a complete one; refuse anything else."""
    from django.db import connection

    from tongxin.demo import seed
    from tongxin.demo.region import REGION_RESIDENTS
    from tongxin.grid.models import Node
    from tongxin.registry.models import Resident

    if seed.is_empty():
        print(f"seeding the region profile (74 counties, {REGION_RESIDENTS:,} residents): this takes a while")
        result = seed.build(profile="region", seed=seed.DEFAULT_SEED, progress=True)
        print(f"seeded in {result.seconds:.0f} s: {result.counts}")
        with connection.cursor() as cursor:  # fresh statistics and visibility maps, as autovacuum would leave them
            cursor.execute("VACUUM ANALYZE")
        return
    residents = Resident.objects.count()
    if not Node.objects.filter(code="540000").exists() or residents != REGION_RESIDENTS:
        raise SystemExit(f"the bench database holds something other than the complete region profile "
                         f"({residents:,} residents; an interrupted seed?): run with --reset to start again")
    print(f"reusing the seeded region: {residents:,} residents")


def bench_user():
    from tongxin.people.models import User

    return User.objects.get(username=BENCH_USER)


def bench_token() -> str:
    from django.db import transaction

    from tongxin.grid.models import Node
    from tongxin.people import services
    from tongxin.people.models import User
    from tongxin.people.roles import Role

    user = User.objects.filter(username=BENCH_USER).first()
    if user is None:
        with transaction.atomic():
            user = services.user_create(actor=SYSTEM, username=BENCH_USER, password=None)
            services.role_grant(actor=SYSTEM, user=user, role=Role.DISPATCH_OFFICER,
                                node=Node.objects.get(code="540000"))
    return services.token_issue(user=user)


NODE_LEVELS = {"township": "townships", "village": "villages", "grid": "grids", "unit": "units"}


def sql_rollup(code: str) -> dict:
    """The same figures as the API, each from one hand-written GROUP BY query."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, path FROM grid_node WHERE code = %s", [code])
        node_id, path = cursor.fetchone()
        cursor.execute("SELECT code, name_zh, level, path FROM grid_node WHERE parent_id = %s ORDER BY path", [node_id])
        children = cursor.fetchall()
        length = len(children[0][3]) if children else len(path)
        like = path + "%"
        by_prefix: dict[str, dict[str, int]] = {}

        def add(rows, figure=None):
            for row in rows:
                prefix, n = row[0], row[-1]
                name = figure or NODE_LEVELS[row[1]]
                by_prefix.setdefault(prefix, {})[name] = n

        cursor.execute("SELECT substr(node_path, 1, %s), count(*) FROM registry_household "
                       "WHERE node_path LIKE %s GROUP BY 1", [length, like])
        add(cursor.fetchall(), "households")
        cursor.execute("SELECT substr(node_path, 1, %s), count(*) FROM registry_resident "
                       "WHERE node_path LIKE %s GROUP BY 1", [length, like])
        add(cursor.fetchall(), "residents")
        cursor.execute("SELECT substr(node_path, 1, %s), count(*) FROM people_roleassignment "
                       "WHERE role = 'grid_worker' AND node_path LIKE %s GROUP BY 1", [length, like])
        add(cursor.fetchall(), "grid_workers")
        cursor.execute("SELECT substr(path, 1, %s), level, count(*) FROM grid_node WHERE path LIKE %s "
                       "AND length(path) > %s AND level IN ('township', 'village', 'grid', 'unit') GROUP BY 1, 2",
                       [length, like, length])
        add(cursor.fetchall())
    figures = ("households", "residents", "grid_workers", *NODE_LEVELS.values())
    rows = [{"code": c, "level": lvl, **{f: by_prefix.get(p, {}).get(f, 0) for f in figures}}
            for c, _name, lvl, p in children]
    total = {f: sum(p.get(f, 0) for p in by_prefix.values()) for f in figures}
    for c in children:  # the children themselves count at their parent, as in the API
        if c[2] in NODE_LEVELS:
            total[NODE_LEVELS[c[2]]] += 1
    return {"code": code, **total, "children": rows}


def timed(fns: dict, repeat: int) -> dict[str, tuple[float, object]]:
    """Median milliseconds of each function over ``repeat`` rounds after one warm-up
    round, and its last answer. The functions take turns within each round, so that
    a busy moment on the machine falls on all of them alike."""
    answers = {name: fn() for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for i in range(repeat):
        for name in names[i % len(names):] + names[:i % len(names)]:
            started = time.perf_counter()
            answers[name] = fns[name]()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: (statistics.median(times[name]), answers[name]) for name in fns}


def explain_api(client, url: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    with connection.cursor() as cursor:
        for q in ctx.captured_queries:
            if "GROUP BY" not in q["sql"]:
                continue
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
            print("\n-- " + q["sql"][:200] + " …")
            print("\n".join(r[0] for r in cursor.fetchall()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the API's roll-up queries")
    parser.add_argument("--reset", action="store_true", help="drop and re-seed the bench database")
    args = parser.parse_args(argv)

    url = os.environ.get("TONGXIN_BENCH_DATABASE_URL") or DEFAULT_URL
    ensure_database(url, reset=args.reset)
    setup_django(url)
    ensure_region()

    from django.test import Client

    from tongxin.grid.models import Level, Node
    from tongxin.grid.selectors import node_rollup

    client = Client(headers={"Authorization": f"Bearer {bench_token()}"})
    county = Node.objects.filter(level=Level.COUNTY).order_by("code").first()
    over = False
    for label, code in (("region", "540000"), ("county", county.code)):
        api_url = f"/api/v1/nodes/{code}/rollup"

        def call_api():
            response = client.get(api_url)
            assert response.status_code == 200, response.content[:500]
            return response.json()

        # The selector alone: the API less HTTP, authentication and JSON.
        node, actor = Node.objects.get(code=code), bench_user()
        result = timed({"api": call_api, "sql": lambda: sql_rollup(code),
                        "selector": lambda: node_rollup(actor=actor, node=node)}, args.repeat)
        (api_ms, api_answer), (sql_ms, sql_answer), (selector_ms, _) = result["api"], result["sql"], result["selector"]
        keys = ("households", "residents", "grid_workers", *NODE_LEVELS.values())
        same = all(api_answer[k] == sql_answer[k] for k in keys) and [
            {k: c[k] for k in ("code", *keys)} for c in api_answer["children"]] == [
            {k: c[k] for k in ("code", *keys)} for c in sql_answer["children"]]
        if not same:
            print(f"rollup {label} {code}: the API and the SQL disagree:\n  api {api_answer}\n  sql {sql_answer}")
            return 2
        ratio = api_ms / sql_ms
        over |= ratio > TARGET
        print(f"rollup {label} {code}: api {api_ms:.1f} ms, sql {sql_ms:.1f} ms, ratio {ratio:.2f} "
              f"(target <= {TARGET})  [selector alone {selector_ms:.1f} ms; {api_answer['residents']:,} residents, "
              f"{len(api_answer['children'])} children]", flush=True)
        if args.explain or ratio > TARGET:
            explain_api(client, api_url)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
