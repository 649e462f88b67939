"""The ``region`` profile: the whole region, 7 prefectures and 74 synthetic counties,
about 3.6 million residents, for benchmarks at region scale.

Rules: memory stays bounded (one county's plan and one batch of households at a
time, never all rows); everything below the prefectures goes through the bulk
path of ``demo.writers`` — nodes, accounts and role grants too, since a region has
a hundred thousand of each — with one audit entry per row, as the services write
(about half of the seeding time goes to the audit log; it is kept per row all the same).
Each county has the reference county's proportions (``plan.shape_for``); township
offices are left out at this scale, county departments are kept.
"""

from __future__ import annotations

import multiprocessing
import random
import traceback

from django.db import connection, connections, transaction
from tqdm import tqdm

from tongxin.demo import names, writers
from tongxin.demo import seed as demo
from tongxin.demo.plan import NodeSpec, plan_county, shape_for, split
from tongxin.grid.models import Level, Node
from tongxin.people.models import User
from tongxin.people.roles import Role

REGION_RESIDENTS = 3_600_000
# Households per transaction: about 10,000 residents and 12,000 audit entries.
REGION_BATCH = 2000
STAFF_BATCH = 5000
# Roles whose demo login sits at the region node; the others are in the first county.
REGION_ROLES = (Role.DISPATCH_OFFICER, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)
# Real prefecture centres, for plausible map positions of the synthetic counties.
CENTRES = {
    "540100": (29.65, 91.13), "540200": (29.27, 88.88), "540300": (31.14, 97.17), "540400": (29.65, 94.36),
    "540500": (29.24, 91.77), "540600": (31.48, 92.05), "542500": (32.50, 80.10),
}


def county_specs(rng: random.Random, *, residents: int, counties: int | None = None) -> list[tuple[NodeSpec, int]]:
    """The synthetic counties (code, names, centre) and their residents.

    Codes are the prefecture's four digits and 51, 52, …: the six-digit pattern of
    county codes, never ending in 00, and apart from the real counties' codes.
    """
    specs = []
    for code, _zh, _bo, _en, n in names.PREFECTURES:
        lat, lon = CENTRES[code]
        for i in range(n):
            c = f"{code[:4]}{51 + i:02d}"
            specs.append(NodeSpec(c, Level.COUNTY, code, f"示例县{c}", f"དཔེ་མཚོན་རྫོང་{names.tibetan_number(int(c))}",
                                  f"County {c} (synthetic)", round(lat + rng.uniform(-1.0, 1.0), 6),
                                  round(lon + rng.uniform(-1.2, 1.2), 6)))
    if counties is not None:
        specs = specs[:counties]
    mean = residents / len(specs)
    sizes = split(rng, residents, len(specs), int(mean * 0.6), int(mean * 1.45) + 1)
    return list(zip(specs, sizes))


def seed_region(*, seed: int, progress: bool = True, residents: int = REGION_RESIDENTS,
                counties: int | None = None, workers: int | None = None) -> list[demo.Login]:
    """Seed the region; ``residents`` and ``counties`` make a smaller one for tests.

    On PostgreSQL two worker processes seed alternate counties (one builds rows while
    the other waits for the database; 1.1 times faster measured on a two-core machine
    busy with other work, more when the cores are free); counties are independent,
    each with its own random streams and its own audit chain, so the data do not
    depend on which worker seeds which county. SQLite has one writer: one process.
    """
    rng = random.Random(f"{seed}:540000:region")
    top = [NodeSpec(names.REGION[0], Level.REGION, None, *names.REGION[1:], 29.65, 91.13)]
    top += [NodeSpec(code, Level.PREFECTURE, names.REGION[0], zh, bo, en, *CENTRES[code])
            for code, zh, bo, en, _n in names.PREFECTURES]
    plan = county_specs(rng, residents=residents, counties=counties)
    known: dict[str, Node] = {}
    with transaction.atomic():
        writers.nodes_via_services(top, known=known)
        writers.nodes_via_services([spec for spec, _ in plan], known=known)
    hashed = demo.password_hash(seed)
    region = known[names.REGION[0]]
    admins = [writers.StaffSpec(demo.DEMO_USERNAMES[role], demo.demo_full_name(role), "zh-hans", role, region)
              for role in REGION_ROLES]
    with transaction.atomic():
        writers.staff_via_services(admins, password_hash=hashed)
    logins = [demo.login_of(s) for s in admins]
    if workers is None:
        workers = 2 if connection.vendor == "postgresql" else 1
    if connection.in_atomic_block:  # workers could not see rows not yet committed
        workers = 1
    workers = max(1, min(workers, len(plan)))

    bar = tqdm(total=sum(n for _, n in plan), unit=" residents", unit_scale=True, disable=not progress,
               desc="region", smoothing=0.05)
    jobs = list(enumerate(plan))
    if workers == 1:
        for index, (county_spec, county_residents) in jobs:
            bar.set_postfix_str(county_spec.code)
            logins += seed_county(seed=seed, index=index, county_spec=county_spec, residents=county_residents,
                                  password_hash=hashed, on_batch=bar.update)
    else:
        logins += _in_workers(workers, jobs, seed=seed, password_hash=hashed, bar=bar)
    bar.close()
    return sorted(logins, key=lambda login: Role.values.index(login.role))


def seed_county(*, seed: int, index: int, county_spec: NodeSpec, residents: int, password_hash: str,
                on_batch=None) -> list[demo.Login]:
    """One county of the region, below its (existing) county node; the first county
    holds the demo logins of the roles that work in a county."""
    first = index == 0
    shape = shape_for(residents)
    county_plan = plan_county(random.Random(f"{seed}:{county_spec.code}:plan"), county_spec, shape)
    county_known = {county_spec.code: Node.objects.get(code=county_spec.code)}
    system_admin = User.objects.get(username=demo.DEMO_USERNAMES[Role.SYSTEM_ADMIN])
    writers.nodes_bulk(county_plan.nodes, known=county_known)
    with transaction.atomic():
        departments = demo.create_departments(actor=system_admin, plan=county_plan, known=county_known, shape=shape)
    demo.register_households(seed=seed, plan=county_plan, known=county_known, write=writers.households_bulk,
                             batch=REGION_BATCH, on_batch=on_batch)
    demo_roles = set(Role.values) - set(REGION_ROLES) - {Role.RESIDENT} if first else set()
    staff = demo.county_staff(random.Random(f"{seed}:{county_spec.code}:staff"), plan=county_plan, shape=shape,
                              known=county_known, departments=departments, demo_roles=demo_roles)
    for batch in demo.chunks(staff, STAFF_BATCH):
        writers.staff_bulk(batch, password_hash=password_hash)
    if not first:
        return []
    logins = [demo.login_of(s) for s in staff if s.username.startswith("demo_")]
    logins.append(demo.resident_login(unit=county_known[county_plan.of_level(Level.UNIT)[0].code],
                                      password_hash=password_hash))
    return logins


def _worker(queue, jobs, seed: int, password_hash: str) -> None:
    try:
        logins = []
        for index, (county_spec, residents) in jobs:
            logins += seed_county(seed=seed, index=index, county_spec=county_spec, residents=residents,
                                  password_hash=password_hash, on_batch=lambda n: queue.put(("progress", n)))
        queue.put(("done", logins))
    except BaseException:  # the parent reports it and stops the other workers
        queue.put(("error", traceback.format_exc()))
    finally:
        connections.close_all()


def _in_workers(workers: int, jobs: list, *, seed: int, password_hash: str, bar) -> list[demo.Login]:
    # Forked children must not share the parent's database connection.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_worker, args=(queue, jobs[k::workers], seed, password_hash), daemon=True)
                 for k in range(workers)]
    for p in processes:
        p.start()
    logins: list[demo.Login] = []
    running = workers
    try:
        while running:
            kind, value = queue.get()
            if kind == "progress":
                bar.update(value)
            elif kind == "done":
                logins += value
                running -= 1
            else:
                raise RuntimeError(f"a seeding worker failed:\n{value}")
    finally:
        for p in processes:
            if p.is_alive() and running:
                p.terminate()
            p.join()
    return logins
