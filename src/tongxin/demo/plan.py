"""The shape of a synthetic county: which nodes it has and how many of everything.

Rule: a plan is pure data made from a ``random.Random`` only (never the global
generator, never the clock), so the same seed always gives the same plan; the
writers turn it into rows.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from tongxin.demo import names
from tongxin.grid.models import Level


@dataclass(frozen=True)
class NodeSpec:
    code: str
    level: str
    parent_code: str | None
    name_zh: str
    name_bo: str
    name_en: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Shape:
    """How many of each thing a county has, and how unevenly they spread: each
    ``(low, high)`` bounds the count per parent."""

    villages: int
    villages_per_township: tuple[int, int]
    grids: int
    grids_per_village: tuple[int, int]
    units: int
    units_per_grid: tuple[int, int]
    households: int
    households_per_unit: tuple[int, int]
    residents: int
    residents_per_household: tuple[int, int]
    grid_workers: int
    workers_per_grid: tuple[int, int]
    township_staff: int = 5
    village_staff: int = 3
    dispatch_officers: int = 4
    county_department_officers: int = 2
    township_department_officers: int = 1
    township_departments: bool = True


# The reference county: DESIGN.md's figures (49 villages, 162 grids, 823 grid
# workers, 23,800 residents); about ten households a unit, about five people a household.
KANGMA = Shape(
    villages=49, villages_per_township=(3, 8),
    grids=162, grids_per_village=(2, 5),
    units=480, units_per_grid=(2, 4),
    households=4800, households_per_unit=(8, 12),
    residents=23800, residents_per_household=(1, 9),
    grid_workers=823, workers_per_grid=(5, 6),
)

SMALL = Shape(
    villages=4, villages_per_township=(2, 2),
    grids=8, grids_per_village=(2, 2),
    units=16, units_per_grid=(2, 2),
    households=32, households_per_unit=(2, 2),
    residents=150, residents_per_household=(1, 9),
    grid_workers=16, workers_per_grid=(2, 2),
    township_staff=2, village_staff=1, dispatch_officers=1, county_department_officers=1,
)


def shape_for(residents: int) -> Shape:
    """A county of ``residents`` people with the reference county's proportions."""
    households = round(residents / (KANGMA.residents / KANGMA.households))
    units = round(households / (KANGMA.households / KANGMA.units))
    grids = round(units / (KANGMA.units / KANGMA.grids))
    villages = max(1, round(grids / (KANGMA.grids / KANGMA.villages)))
    grid_workers = round(grids * KANGMA.grid_workers / KANGMA.grids)
    return Shape(
        villages=villages, villages_per_township=KANGMA.villages_per_township,
        grids=grids, grids_per_village=KANGMA.grids_per_village,
        units=units, units_per_grid=KANGMA.units_per_grid,
        households=households, households_per_unit=KANGMA.households_per_unit,
        residents=residents, residents_per_household=KANGMA.residents_per_household,
        grid_workers=grid_workers, workers_per_grid=KANGMA.workers_per_grid,
        township_departments=False,
    )


def townships_for(shape: Shape) -> int:
    """Enough townships for the villages at the reference county's ratio."""
    return max(1, round(shape.villages / (KANGMA.villages / len(names.TOWNSHIPS))))


def split(rng: random.Random, total: int, n: int, low: int, high: int) -> list[int]:
    """``n`` counts between ``low`` and ``high`` that add up to exactly ``total``."""
    if n <= 0 or not low * n <= total <= high * n:
        raise ValueError(f"cannot split {total} into {n} parts of {low}..{high}")
    counts = [low] * n
    for _ in range(total - low * n):
        i = rng.randrange(n)
        while counts[i] >= high:
            i = (i + 1) % n
        counts[i] += 1
    return counts


def _near(rng: random.Random, lat: float, lon: float, spread: float) -> tuple[float, float]:
    # Longitude degrees are shorter at this latitude: widen them so spreads look round.
    widen = 1 / max(0.2, math.cos(math.radians(lat)))
    return (round(lat + rng.uniform(-spread, spread), 6), round(lon + rng.uniform(-spread, spread) * widen, 6))


@dataclass
class CountyPlan:
    """Every node below one county, parents before children, and the counts below them."""

    county: NodeSpec
    nodes: list[NodeSpec] = field(default_factory=list)
    households_per_unit: dict[str, int] = field(default_factory=dict)
    household_sizes: list[int] = field(default_factory=list)
    workers_per_grid: dict[str, int] = field(default_factory=dict)

    def of_level(self, level: str) -> list[NodeSpec]:
        return [n for n in self.nodes if n.level == level]


def plan_county(rng: random.Random, county: NodeSpec, shape: Shape,
                townships: list[tuple[str, str, str, str]] | None = None) -> CountyPlan:
    """Lay out a county: townships (given, or synthetic), villages, grids, units.

    Codes follow the national pattern: townships ``<county>100`` (the town) and
    ``<county>2NN``, villages ``<township>2NN``, then three digits per level below.
    """
    plan = CountyPlan(county=county)
    if townships is None:
        count = townships_for(shape)
        stems = names.place_names(rng, count)
        townships = []
        for i, stem in enumerate(stems):
            suffix = "100" if i == 0 else f"{200 + i - 1:03d}"
            kind = ("镇", "གྲོང་རྡལ།", "Town") if i == 0 else ("乡", "ཤང་།", "Township")
            townships.append((county.code + suffix, stem[0] + kind[0], stem[1] + kind[1],
                              f"{kind[2]} {i + 1:02d} (synthetic)"))
    per_township = split(rng, shape.villages, len(townships), *_bounds(shape.villages, len(townships),
                                                                       shape.villages_per_township))
    per_village = split(rng, shape.grids, shape.villages,
                        *_bounds(shape.grids, shape.villages, shape.grids_per_village))
    per_grid = split(rng, shape.units, shape.grids, *_bounds(shape.units, shape.grids, shape.units_per_grid))
    plan.household_sizes = split(rng, shape.residents, shape.households, *shape.residents_per_household)
    per_unit = split(rng, shape.households, shape.units,
                     *_bounds(shape.households, shape.units, shape.households_per_unit))
    workers = split(rng, shape.grid_workers, shape.grids,
                    *_bounds(shape.grid_workers, shape.grids, shape.workers_per_grid))
    village_stems = names.place_names(rng, shape.villages)

    v = g = u = 0
    for t, (code, zh, bo, en) in enumerate(townships):
        spread = 0.0 if t == 0 else 0.3  # the town is the county seat
        t_lat, t_lon = _near(rng, county.lat, county.lon, spread)
        plan.nodes.append(NodeSpec(code, Level.TOWNSHIP, county.code, zh, bo, en, t_lat, t_lon))
        for vi in range(per_township[t]):
            v_code = f"{code}{201 + vi:03d}"
            v_zh, v_bo, v_en = names.village_names(village_stems[v], v + 1)
            v_lat, v_lon = _near(rng, t_lat, t_lon, 0.06)
            plan.nodes.append(NodeSpec(v_code, Level.VILLAGE, code, v_zh, v_bo, v_en, v_lat, v_lon))
            for gi in range(per_village[v]):
                g_code = f"{v_code}{gi + 1:03d}"
                g_zh, g_bo, g_en = names.grid_names(v_zh, v_bo, gi + 1)
                g_lat, g_lon = _near(rng, v_lat, v_lon, 0.012)
                plan.nodes.append(NodeSpec(g_code, Level.GRID, v_code, g_zh, g_bo, g_en, g_lat, g_lon))
                plan.workers_per_grid[g_code] = workers[g]
                for ui in range(per_grid[g]):
                    u_code = f"{g_code}{ui + 1:03d}"
                    u_zh, u_bo, u_en = names.unit_names(ui + 1)
                    u_lat, u_lon = _near(rng, g_lat, g_lon, 0.003)
                    plan.nodes.append(NodeSpec(u_code, Level.UNIT, g_code, u_zh, u_bo, u_en, u_lat, u_lon))
                    plan.households_per_unit[u_code] = per_unit[u]
                    u += 1
                g += 1
            v += 1
    return plan


def _bounds(total: int, n: int, wanted: tuple[int, int]) -> tuple[int, int]:
    """The wanted bounds, widened just enough that ``total`` fits into ``n`` parts."""
    low, high = wanted
    return min(low, total // n), max(high, -(-total // n))
