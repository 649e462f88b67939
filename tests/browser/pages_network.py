"""A small synthetic network for the page tests, built through the real services.

Kangma County (real name and code) with two townships; everything below the townships
(villages, grids, units, households, people) is synthetic. Shared by tests/browser and
tests/web.
"""

from __future__ import annotations

import datetime as dt
import functools
from types import SimpleNamespace
from tongxin.core.actors import SYSTEM

PASSWORD = "Kangma-Pages-2024!"


@functools.cache
def password_hash() -> str:
    # One PBKDF2 hash per test session; every test account shares it.
    from django.contrib.auth.hashers import make_password

    return make_password(PASSWORD)


def id_number(birth: dt.date, seq: int) -> str:
    from tongxin.registry.idnumber import check_digit

    first17 = f"540230{birth:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def build_network() -> SimpleNamespace:
    from tongxin.grid.services import node_create
    from tongxin.people.roles import Role
    from tongxin.people.services import role_grant, user_create
    from tongxin.registry.services import household_create, resident_create, user_household_link

    def node(code, level, parent, zh, bo, en=""):
        return node_create(actor=SYSTEM, code=code, level=level, parent=parent,
                           name_zh=zh, name_bo=bo, name_en=en)

    county = node("540230", "county", None, "康马县", "ཁང་དམར་རྫོང་།", "Kangma County")
    town = node("540230100", "township", county, "康马镇", "ཁང་དམར་གྲོང་རྡལ།", "Kangma Town")
    samada = node("540230201", "township", county, "萨玛达乡", "ས་མ་མདའ་ཤང་།", "Samada Township")
    village = node("540230100001", "village", town, "东村（示例）", "ཤར་གྲོང་ཚོ།（དཔེ་མཚོན།）", "East Village (sample)")
    grid1 = node("540230100001001", "grid", village, "一号网格", "དྲ་མིག་དང་པོ།", "Grid 1")
    grid2 = node("540230100001002", "grid", village, "二号网格", "དྲ་མིག་གཉིས་པ།", "Grid 2")
    unit1 = node("540230100001001001", "unit", grid1, "一号联户单元", "མཉམ་སྡོད་ཚན་ཁག་དང་པོ།", "Unit 1")
    unit2 = node("540230100001002001", "unit", grid2, "二号联户单元", "མཉམ་སྡོད་ཚན་ཁག་གཉིས་པ།", "Unit 2")
    village_b = node("540230201001", "village", samada, "北村（示例）", "བྱང་གྲོང་ཚོ།（དཔེ་མཚོན།）", "North Village (sample)")
    grid_b = node("540230201001001", "grid", village_b, "北村一号网格", "བྱང་གྲོང་དྲ་མིག་དང་པོ།", "North Grid 1")
    unit_b = node("540230201001001001", "unit", grid_b, "北村一号联户单元", "བྱང་གྲོང་ཚན་ཁག་དང་པོ།", "North Unit 1")

    def person(username, full_name, role, at, language="zh-hans"):
        user = user_create(actor=SYSTEM, username=username, password=None,
                           password_hash=password_hash(), full_name=full_name, preferred_language=language)
        role_grant(actor=SYSTEM, user=user, role=role, node=at)
        return user

    users = SimpleNamespace(
        county_admin=person("county.admin", "县管理员", Role.COUNTY_ADMIN, county),
        auditor=person("audit.admin", "审计管理员", Role.AUDIT_ADMIN, county),
        township_auditor=person("audit.town", "镇审计员", Role.AUDIT_ADMIN, town),
        village_staff=person("village.staff", "村干部 索朗", Role.VILLAGE_STAFF, village),
        grid_worker=person("grid.worker1", "次仁 ཚེ་རིང་།", Role.GRID_WORKER, grid1),
        grid_worker2=person("grid.worker2", "普布", Role.GRID_WORKER, grid2),
        grid_worker_b=person("grid.worker.b", "达瓦", Role.GRID_WORKER, grid_b),
        resident=None,
    )

    def household(actor, unit, number, head, address, members):
        h = household_create(actor=actor, node=unit, number=number, head_name=head, address=address,
                             phone="0892-0000000", preferred_language="bo")
        made = [resident_create(actor=actor, household=h, name=name, sex=sex, birth_date=birth,
                                id_number=id_number(birth, seq), relation=relation)
                for name, sex, birth, seq, relation in members]
        return h, made

    h1, h1_members = household(users.grid_worker, unit1, "A-0001", "扎西顿珠", "东村一组 1 号", [
        ("扎西顿珠", "M", dt.date(1970, 3, 5), 11, "head"),
        ("卓玛", "F", dt.date(1973, 6, 10), 12, "spouse"),
    ])
    h2, h2_members = household(users.grid_worker, unit1, "A-0002", "བཀྲ་ཤིས་དོན་གྲུབ།", "ཤར་གྲོང་ཚོ། ཨང་ 2", [
        ("བཀྲ་ཤིས་དོན་གྲུབ།", "M", dt.date(1965, 1, 20), 21, "head"),
        ("སྒྲོལ་མ།", "F", dt.date(1990, 11, 2), 22, "child"),
    ])
    h3, h3_members = household(users.grid_worker2, unit2, "B-0001", "次仁", "东村二组 3 号", [
        ("次仁", "M", dt.date(1980, 8, 8), 31, "head"),
    ])
    h4, h4_members = household(users.grid_worker_b, unit_b, "N-0001", "白玛拉姆", "北村 1 号", [
        ("白玛拉姆", "F", dt.date(1985, 2, 14), 41, "head"),
    ])

    resident = person("resident.a1", "扎西顿珠", Role.RESIDENT, unit1, language="bo")
    user_household_link(actor=SYSTEM, user=resident, household=h1)
    resident.refresh_from_db()
    users.resident = resident

    return SimpleNamespace(
        nodes=SimpleNamespace(county=county, town=town, samada=samada, village=village, grid1=grid1, grid2=grid2,
                              unit1=unit1, unit2=unit2, village_b=village_b, grid_b=grid_b, unit_b=unit_b),
        users=users,
        households=SimpleNamespace(h1=h1, h2=h2, h3=h3, h4=h4),
        residents=SimpleNamespace(h1=h1_members, h2=h2_members, h3=h3_members, h4=h4_members),
        password=PASSWORD,
    )


def tibetan_selectable(settings, tmp_dir) -> bool:
    """Make sure Django lets a user choose Tibetan.

    Django offers a language (cookie, switcher) only when some ``django`` catalogue for it
    exists, and Django ships none for ``bo``. Until the project's own bo catalogue is in
    place, an empty one is compiled into ``tmp_dir`` and appended to LOCALE_PATHS (real
    catalogues, earlier in the list, still win). Returns whether the stand-in was needed.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from django.utils.translation import check_for_language

    if check_for_language("bo"):
        return False
    target = tmp_dir / "bo" / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "django.mo").open("wb") as f:
        write_mo(f, Catalog(locale="bo", domain="django"))
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS, tmp_dir]
    return True
