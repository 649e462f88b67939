"""Benchmark: the dispatch queue at region scale.

    /tmp/venv/bin/python bench/dispatch_queue.py [--requests 300000]

Uses the region database of ``bench/rollup.py`` (seed it there first). Adds a region's
worth of requests once (bulk, spread over every county, a fifth of them open), then
asks ``GET /api/v1/requests?open=true&node=…`` as the dispatch officer at the region
for the region, the busiest county and one grid. Prints, for each, the number of
queries (the target: the same for all three) and the time against hand-written SQL for
the same first page (one query with the same filter, order and limit), as a ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from tongxin.core.actors import SYSTEM

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tongxin_bench"


def setup() -> None:
    os.environ["TONGXIN_DATABASE_URL"] = os.environ.get("TONGXIN_BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("TONGXIN_DATA_DIR", os.path.expanduser("~/.cache/tongxin-bench"))
    os.makedirs(os.environ["TONGXIN_DATA_DIR"], exist_ok=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tongxin.settings"
    import django

    django.setup()


def add_requests(total: int) -> None:
    """Bulk rows (bench data, not through the services): the queue reads only the table."""
    import datetime as dt

    import uuid6
    from django.db import transaction

    from tongxin.core import clock
    from tongxin.dispatch.models import Category, Request, State
    from tongxin.grid.models import Node

    have = Request.objects.count()
    if have >= total:
        print(f"reusing {have:,} requests")
        return
    rng = random.Random(2026)
    units = list(Node.objects.filter(level="unit").values_list("pk", "path", "parent_id"))
    categories = list(Category.objects.values_list("pk", flat=True))
    states = [State.REPORTED, State.ACCEPTED, State.IN_PROGRESS, State.ESCALATED] + [State.CLOSED] * 16
    now = clock.now()
    made = have
    while made < total:
        batch = []
        for _ in range(min(20000, total - made)):
            unit_id, path, grid_id = units[rng.randrange(len(units))]
            state = rng.choice(states)
            created = now - dt.timedelta(hours=rng.uniform(0, 24 * 365))
            due = created + dt.timedelta(hours=rng.uniform(2, 200))
            batch.append(Request(
                id=uuid6.uuid7(), number=f"B{made + len(batch):011d}", category_id=rng.choice(categories),
                description="bench", node_id=unit_id, node_path=path, handler_node_id=grid_id, handler_level="grid",
                state=state, created_at=created, updated_at=created,
                accept_due=due if state in (State.REPORTED, State.ESCALATED) else None,
                resolve_due=due if state in (State.ACCEPTED, State.IN_PROGRESS) else None))
        with transaction.atomic():
            Request.objects.bulk_create(batch, batch_size=5000)
        made += len(batch)
        print(f"  {made:,} requests", file=sys.stderr)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE dispatch_request")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.db.models import Count
    from django.db.models.functions import Substr
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tongxin.dispatch.models import OPEN_STATES, Request
    from tongxin.grid.models import Node
    from tongxin.people import services as people
    from tongxin.people.models import User

    add_requests(args.requests)
    region = Node.objects.get(level="region")
    officer = User.objects.filter(username="bench_queue_dispatch").first()
    if officer is None:
        officer = people.user_create(actor=SYSTEM, username="bench_queue_dispatch", password=None)
        people.role_grant(actor=SYSTEM, user=officer, role="dispatch_officer", node=region)
    token = people.token_issue(user=officer)
    # The busiest county: the most open requests (county paths are /region/prefecture/county/).
    busiest_path = (Request.objects.filter(state__in=OPEN_STATES).annotate(county=Substr("node_path", 1, 22))
                    .values_list("county").annotate(n=Count("pk")).order_by("-n")[0][0])
    county = Node.objects.get(path=busiest_path)
    grid = Node.objects.filter(level="grid", path__startswith=county.path).order_by("path").first()
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    sql = ("SELECT id, number, state, accept_due, resolve_due FROM dispatch_request "
           "WHERE node_path LIKE %s AND state = ANY(%s) "
           "ORDER BY CASE WHEN state IN ('reported','escalated','reopened') THEN accept_due "
           "WHEN state IN ('accepted','in_progress') THEN resolve_due END ASC NULLS LAST, created_at, id LIMIT 50")
    counts = []
    print(f"{Request.objects.count():,} requests in the region; page of 50, median of {args.repeat}")
    for label, node in (("region", region), ("county", county), ("grid", grid)):
        url = f"/api/v1/requests?open=true&node={node.code}"
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, **headers)
        assert response.status_code == 200, response.content[:300]
        open_count = response.json()["count"]
        queries = len(ctx.captured_queries)
        counts.append(queries)
        api_times, sql_times = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            client.get(url, **headers)
            api_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM dispatch_request WHERE node_path LIKE %s AND state = ANY(%s)",
                               [node.path + "%", list(OPEN_STATES)])
                cursor.fetchall()
                cursor.execute(sql, [node.path + "%", list(OPEN_STATES)])
                cursor.fetchall()
            sql_times.append(time.perf_counter() - started)
        api, base = statistics.median(api_times) * 1000, statistics.median(sql_times) * 1000
        print(f"queue {label} {node.code}: {open_count:,} open, {queries} queries, api {api:.1f} ms, "
              f"sql {base:.1f} ms, ratio {api / base:.2f}")
    same = len(set(counts)) == 1
    print(f"queries per queue page: {counts} -> {'constant' if same else 'NOT constant'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
