"""Chinese administrative divisions from the cpca package's table: level, province, short name."""

from __future__ import annotations

import csv
import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import IngestError

# Placeholder rows in the table that are not real places.
_NOT_PLACES = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
_PROVINCE_SUFFIX = re.compile(r"(省|市|特别行政区|自治区)$")


@dataclass(frozen=True)
class Place:
    """One administrative division: full name, level (a key of LEVELS), province, parent city."""

    name: str
    adcode: str
    level: str  # province | prefecture | county-city | county | district
    province: str
    prefecture: str | None  # the prefecture-level city above a county/district, if any

    @property
    def full(self) -> str:
        """Name as used in report titles: districts/counties carry their city, e.g. 泰州市高港区."""
        if self.level == "district" and self.prefecture:
            return self.prefecture + self.name
        return self.name


def _adcodes_path() -> Path:
    # cpca's own __init__ needs pkg_resources (gone from recent setuptools), so read its table directly.
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise IngestError("the cpca package is not installed", fix="pip install cpca")
    return Path(list(spec.submodule_search_locations)[0]) / "resources" / "adcodes.csv"


@lru_cache(maxsize=1)
def _nations() -> tuple[str, ...]:
    path = _adcodes_path().parent / "56_nations.csv"
    names = {ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()}
    names |= {n[:-1] for n in names if n.endswith("族") and len(n) > 2}  # 维吾尔族 -> 维吾尔
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


def _level(code: str, name: str) -> str:
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "prefecture"
    if name.endswith("区") and not name.endswith("林区"):
        return "district"
    if name.endswith("市"):
        return "county-city"
    return "county"


@dataclass
class Gazetteer:
    """Lookup of places by full name (several places may share a name, e.g. 朝阳区)."""

    by_name: dict[str, list[Place]]
    by_code: dict[str, Place]

    def find(self, name: str) -> Place | None:
        """The place named `name` ("济南市", "泰州市高港区", "宁夏回族自治区", "江阴市"), or None.

        A district/county name may be prefixed by its city or province; an unprefixed name that
        several places share is ambiguous and gives None.
        """
        name = name.strip()
        if name in self.by_name and len(self.by_name[name]) == 1:
            return self.by_name[name][0]
        # "泰州市高港区": split into a known parent prefix and a child that belongs to it.
        for cut in range(2, len(name) - 1):
            parent, child = name[:cut], name[cut:]
            parents = self.by_name.get(parent, [])
            for place in self.by_name.get(child, []):
                for p in parents:
                    if p.level in ("province", "prefecture") and place.adcode.startswith(_prefix(p)):
                        return place
        if name in self.by_name:  # ambiguous: prefer the higher level when exactly one exists
            candidates = sorted(self.by_name[name], key=lambda p: _RANK[p.level])
            if len(candidates) > 1 and _RANK[candidates[0].level] < _RANK[candidates[1].level]:
                return candidates[0]
        return None

    def names_at(self, *levels: str) -> list[Place]:
        return sorted((p for p in self.by_code.values() if p.level in levels), key=lambda p: p.adcode)


_RANK = {"province": 0, "prefecture": 1, "county-city": 2, "district": 2, "county": 2}


def _prefix(p: Place) -> str:
    return p.adcode[:2] if p.level == "province" else p.adcode[:4]


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The table, loaded once (about 3,500 rows)."""
    rows = []
    with _adcodes_path().open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            rows.append((rec["adcode"], rec["name"]))
    rows.sort()
    names = {code: name for code, name in rows}
    by_code: dict[str, Place] = {}
    for code, name in rows:
        if name in _NOT_PLACES or code[6:] != "0" * 6:
            continue
        level = _level(code, name)
        province = names.get(code[:2] + "0" * 10, name)
        pref_name = names.get(code[:4] + "0" * 8)
        prefecture = pref_name if level not in ("province", "prefecture") and pref_name not in _NOT_PLACES else None
        by_code[code] = Place(name=name, adcode=code, level=level, province=province, prefecture=prefecture)
    by_name: dict[str, list[Place]] = {}
    for p in by_code.values():
        by_name.setdefault(p.name, []).append(p)
    return Gazetteer(by_name=by_name, by_code=by_code)


def short_name(place: Place) -> str:
    """Short form used in ids and citations.

    Provinces and cities (prefecture-level and county-level) lose their suffix and any ethnic
    qualifier: 河北省 -> 河北, 宁夏回族自治区 -> 宁夏, 济南市 -> 济南, 延边朝鲜族自治州 -> 延边,
    江阴市 -> 江阴. Districts and counties keep their full own name: 高港区, 盱眙县.
    """
    name = place.name
    if place.level == "province":
        name = _PROVINCE_SUFFIX.sub("", name)
    elif place.level in ("prefecture", "county-city"):
        name = re.sub(r"(市|地区|自治州|盟)$", "", name)
    else:
        return name
    stripped = True
    while stripped:  # 恩施土家族苗族 -> 恩施
        stripped = False
        for nation in _nations():
            if name.endswith(nation) and len(name) > len(nation) + 1:
                name, stripped = name[: -len(nation)], True
                break
    return name or place.name
