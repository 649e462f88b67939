"""A year of synthetic requests and visits for the demo county, in every state.

Every step goes through the real services with the clock moved to when it happened, so
timelines, deadlines (with the official calendar), audit entries, notifications and
statistics are exactly what the platform would have recorded. Deterministic for a seed
(values, not ids).
"""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Count

from tongxin.core import clock
from tongxin.core.actors import SYSTEM
from tongxin.core.errors import ApplicationError
from tongxin.dispatch import services
from tongxin.dispatch.models import Category, ReporterKind, Request, Urgency
from tongxin.grid.models import Department, Level, Node
from tongxin.people import services as people
from tongxin.people.models import RoleAssignment, User
from tongxin.people.roles import Role
from tongxin.registry.models import Household

DESCRIPTIONS = {
    "water": ["井水不出水，全组十几户吃水困难", "自来水管冻裂，院内漏水", "水质发浑，请来检测"],
    "heating": ["冬季取暖炉烟囱损坏，老人家中很冷", "太阳能暖房玻璃破损"],
    "roads": ["进村道路塌方，车辆无法通行", "便桥护栏松动，学生上学有危险"],
    "electricity": ["线路老化，晚上经常停电", "电表箱门损坏，有触电隐患"],
    "housing_safety": ["房屋墙体开裂，雨季担心倒塌", "牛圈屋顶漏雨需维修"],
    "dispute": ["邻里因草场边界发生争执", "宅基地界线纠纷需调解"],
    "wage_arrears": ["在工地务工工资被拖欠三个月", "合作社分红未按时发放"],
    "care": ["独居老人需要定期上门照看", "留守儿童入学需要帮助办理"],
    "sanitation": ["村口垃圾堆放多日未清运", "河边有人倾倒建筑垃圾"],
    "livestock": ["牦牛疑似患病需要防疫员查看", "冬季草料不足请求调配"],
    "safety_hazard": ["山坡有落石隐患，靠近民房", "液化气罐存放不规范"],
    "petition": ["对低保评定结果有异议", "对征地补偿标准有意见"],
    "other": ["希望在村里开设藏汉双语夜校", "请求增设公交站点"],
}
# What the public feed may show of some requests about public works, whose reporters chose to
# publish them: a text written for the public, never the reporter's own words.
PUBLIC_TEXTS = {
    "water": "村内供水设施故障",
    "roads": "村道路段受损，影响通行",
    "electricity": "村内供电线路故障",
    "sanitation": "公共区域垃圾清运",
    "safety_hazard": "公共区域安全隐患",
}
RESOLUTIONS = ["已安排人员上门处理，问题解决", "协调相关部门完成维修", "已调解，双方达成一致",
               "已落实帮扶措施并回访", "已清理完毕并建立长效机制"]

DEMO_REQUESTS = 360


def _officers(county: Node, password_hash: str) -> dict[str, User]:
    """One officer per county department, so escalated requests have someone to report for duty."""
    officers = {}
    for dept in Department.objects.filter(node=county):
        existing = RoleAssignment.objects.filter(role=Role.DEPARTMENT_OFFICER, department=dept).select_related(
            "user").first()
        if existing:
            officers[dept.code] = existing.user
            continue
        user = people.user_create(actor=SYSTEM, username=f"officer_{dept.code}", password=None,
                                  password_hash=password_hash, full_name=f"{dept.name_zh}值班员")
        people.role_grant(actor=SYSTEM, user=user, role=Role.DEPARTMENT_OFFICER, node=county, department=dept)
        officers[dept.code] = user
    return officers


def seed_requests(*, county: Node, seed: int, password_hash: str, count: int = DEMO_REQUESTS,
                  now: dt.datetime | None = None) -> dict[str, int]:
    """File ``count`` requests over the year before ``now`` and walk each through the ladder."""
    rng = random.Random(seed * 7 + 11)
    now = now or clock.now()
    officers = _officers(county, password_hash)
    dispatcher = RoleAssignment.objects.filter(role=Role.DISPATCH_OFFICER, node=county).select_related(
        "user").first()
    workers: dict[int, User] = {}
    for a in (RoleAssignment.objects.filter(role=Role.GRID_WORKER, node_path__startswith=county.path)
              .select_related("user", "node").order_by("node_path", "user__username")):
        workers.setdefault(a.node_id, a.user)
    # Who handles at each level above the grid: the first village or township staff member
    # (by node; by path, who records a resident's rating that its reporter may not give).
    staff: dict[int, User] = {}
    recorders: dict[str, User] = {}
    for a in (RoleAssignment.objects.filter(role__in=[Role.VILLAGE_STAFF, Role.TOWNSHIP_STAFF],
                                            node_path__startswith=county.path)
              .select_related("user").order_by("node_path", "user__username")):
        staff.setdefault(a.node_id, a.user)
        recorders.setdefault(a.node_path, a.user)
    if dispatcher is not None:
        staff.setdefault(county.pk, dispatcher.user)
    grids = list(Node.objects.filter(level=Level.GRID, path__startswith=county.path).order_by("path"))
    households = list(Household.objects.filter(node_path__startswith=county.path).order_by("node_path", "number")
                      .values_list("pk", "node_path"))
    grid_of = {g.path: g for g in grids}
    categories = {c.code: c for c in Category.objects.all()}
    weights = {"water": 14, "heating": 8, "roads": 8, "electricity": 8, "housing_safety": 7, "dispute": 6,
               "wage_arrears": 4, "care": 10, "sanitation": 9, "livestock": 10, "safety_hazard": 5,
               "petition": 2, "other": 5}
    codes = list(weights)
    resident_user = User.objects.filter(assignments__role=Role.RESIDENT, household__isnull=False).first()
    # Most of the year's requests are long closed; the last fortnight's are still on the queue.
    moments = sorted(now - dt.timedelta(days=rng.uniform(0, 14) if rng.random() < 0.3 else rng.uniform(0, 365),
                                        hours=rng.uniform(0, 10)) for _ in range(count))
    made = 0
    for i, filed_at in enumerate(moments):
        filed_at = filed_at.replace(hour=rng.choice([9, 10, 11, 15, 16, 17]), minute=rng.randrange(60))
        if filed_at >= now:
            filed_at = now - dt.timedelta(hours=1)
        household_id, path = households[rng.randrange(len(households))]
        grid = grid_of.get(path[: len(path) - 19])
        worker = workers.get(grid.pk) if grid else None
        if worker is None:
            continue
        household = Household.objects.get(pk=household_id)
        code = rng.choices(codes, weights=[weights[c] for c in codes])[0]
        category = categories[code]
        reporter = worker
        if resident_user and i % 45 == 0:
            reporter, household = resident_user, Household.objects.get(pk=resident_user.household_id)
            worker = workers.get(grid_of.get(household.node_path[: len(household.node_path) - 19]).pk, worker)
        age = (now - filed_at).days
        try:
            _walk(rng, filed_at=filed_at, now=now, age=age, category=category, household=household,
                  reporter=reporter, worker=worker, officers=officers, staff=staff, recorders=recorders,
                  published=code in PUBLIC_TEXTS and i % 3 == 0)
            made += 1
        except ApplicationError:
            continue  # a path the rules refuse (e.g. a window closed): that request stays as it is
    _seed_visits(rng, grids=grids[:24], workers=workers, now=now)
    return dict(Request.objects.filter(node_path__startswith=county.path).order_by().values_list("state")
                .annotate(n=Count("pk")))


def _at(moment: dt.datetime):
    return clock.frozen_at(moment)


def _walk(rng: random.Random, *, filed_at, now, age, category, household, reporter, worker, officers, staff,
          recorders, published: bool = False):
    """File one request and take it as far as its age and a die allow (``published``: the
    reporter publishes it, with a public description)."""
    with _at(filed_at):
        request, _created = services.request_file(
            actor=reporter, category=category, node=household.node, household=household,
            description=rng.choice(DESCRIPTIONS[category.code]),
            reporter_kind=ReporterKind.RESIDENT if reporter.household_id else ReporterKind.GRID_WORKER,
            urgency=Urgency.URGENT if rng.random() < 0.12 else Urgency.NORMAL, publish=published)
        if published:
            request = services.request_publish(actor=reporter, request=request,
                                               text=PUBLIC_TEXTS[category.code])
    if request.handler_level != Level.GRID:  # first handled by village or township staff
        worker = staff.get(request.handler_node_id) or staff.get(_county_id(request)) or worker
    t = filed_at
    if age < 2 and rng.random() < 0.6:
        return  # just reported
    t += dt.timedelta(hours=rng.choice([0.5, 1, 2, 3, 6, 30]))  # some accepted late
    if t >= now:
        return
    if rng.random() < 0.04:
        with _at(t):
            services.request_reject(actor=worker, request=request, reason="经核实不属于本平台受理范围，已告知群众")
        return
    with _at(t):
        request = services.request_accept(actor=worker, request=request)
    handler = worker
    if rng.random() < 0.05:
        return  # stuck: accepted and forgotten, overdue on the queue
    dept = category.department_code
    if dept and dept in officers and rng.random() < 0.35:
        t += dt.timedelta(hours=rng.uniform(1, 20))
        if t >= now:
            return
        county_path = _county_path(request)
        lead = Department.objects.get(node_path=county_path, code=dept)
        assisting = []
        if rng.random() < 0.25:  # joint handling (连心共治): another department assists
            others = list(Department.objects.filter(node_path=county_path).exclude(code=dept).order_by("code"))
            assisting = [rng.choice(others)] if others else []
        with _at(t):
            request = services.request_escalate(actor=worker, request=request, reason="超出网格处置能力，吹哨报到",
                                                departments=[lead], assisting=assisting)
        handler = officers[dept]
        if age < 4 and rng.random() < 0.5:
            return  # waiting for the department to report
        t += dt.timedelta(hours=rng.choice([1, 3, 8, 50]))
        if t >= now:
            return
        with _at(t):
            request = services.request_accept(actor=handler, request=request)
    elif rng.random() < 0.3:
        t += dt.timedelta(hours=rng.uniform(1, 6))
        if t >= now:
            return
        with _at(t):
            request = services.request_start(actor=handler, request=request)
    if age < 7 and rng.random() < 0.5:
        return  # still being worked on (some of these will be overdue)
    t += dt.timedelta(days=rng.choice([0.2, 1, 2, 3, 6, 12]))
    if t >= now:
        return
    with _at(t):
        request = services.request_resolve(actor=handler, request=request, resolution=rng.choice(RESOLUTIONS))
    t += dt.timedelta(days=rng.uniform(0.2, 5))
    if t >= now:
        return
    roll = rng.random()
    # The reporter's side closes the loop, never whoever handled the request.
    side = _reporter_side(request, reporter, recorders, handled={worker.pk, handler.pk})
    if roll < 0.62 and side is not None:
        with _at(t):
            services.request_rate(actor=side, request=request, rating=rng.choices([5, 4, 3, 2, 1],
                                                                                     [55, 28, 10, 4, 3])[0],
                                  comment=rng.choice(["", "", "处理及时，感谢", "希望以后更快一些"]))
    elif roll < 0.65 and side is not None and request.reopen_until and t < request.reopen_until:
        with _at(t):
            services.request_reopen(actor=side, request=request, reason="问题又出现了")
    else:
        moment = min(now, (request.reopen_until or t) + dt.timedelta(hours=1))
        with _at(moment):  # what the hourly job would have done then
            services.close_unrated(now=moment)


def _reporter_side(request: Request, reporter: User, recorders: dict[str, User], handled: set) -> User | None:
    """Who rates or reopens the request for its resident: the reporter, unless they handled it
    themselves (a grid worker who filed at the doorstep and took it up); then the staff of its
    village or township, nearest first, who took no step, record the resident's word. What they
    record counts only when they are not on the handler's side (``Request.rating_by_handlers``):
    it does for a request the county's departments handled, not for one their own grid handled."""
    if reporter.pk not in handled:
        return reporter
    parts = request.node_path.strip("/").split("/")
    for i in range(len(parts) - 1, -1, -1):
        user = recorders.get("/" + "/".join(parts[: i + 1]) + "/")
        if user is not None and user.pk not in handled:
            return user
    return None


def _county_id(request: Request):
    return Node.objects.filter(path=_county_path(request)).values_list("pk", flat=True).first()


def _county_path(request: Request) -> str:
    parts = request.node_path.strip("/").split("/")
    for i, code in enumerate(parts):
        if len(code) == 6 and not code.endswith("00"):
            return "/" + "/".join(parts[: i + 1]) + "/"
    return "/" + parts[0] + "/"


def _seed_visits(rng: random.Random, *, grids, workers, now) -> None:
    """This month's door-knocking round in some grids, partly done."""
    start = (now - dt.timedelta(days=20)).date()
    end = (now + dt.timedelta(days=10)).date()
    leader = {a.node_id: a.user for a in RoleAssignment.objects.filter(role=Role.GRID_LEADER,
                                                                        node__in=grids).select_related("user")}
    for grid in grids:
        planner = leader.get(grid.pk) or workers.get(grid.pk)
        worker = workers.get(grid.pk)
        if planner is None or worker is None:
            continue
        with _at(now - dt.timedelta(days=21)):
            visit_round = services.visit_round_plan(actor=planner, grid=grid, title="敲门行动", starts_on=start,
                                                    ends_on=end)
        homes = list(Household.objects.filter(node_path__startswith=grid.path).order_by("number"))
        for home in homes[: int(len(homes) * rng.uniform(0.3, 0.9))]:
            day = start + dt.timedelta(days=rng.randrange(0, 20))
            with _at(dt.datetime.combine(day, dt.time(11), tzinfo=now.tzinfo)):
                services.visit_record(actor=worker, household=home, visited_on=day, visit_round=visit_round,
                                      findings=rng.choice(["家中一切正常", "老人身体不适，已联系村医", "反映饮水困难"]),
                                      follow_up=rng.random() < 0.1)
