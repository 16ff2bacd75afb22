"""What an imported file of points means, checked line by line before anything is written.

Each line becomes a `Planned` point: an existing one it updates (by code, by `#id`,
by the code generated for it before, or a code-less point with the same name and
parent), or a new one. A parent is named by code, `#id` or name, and may be a line
earlier or later in the file; a name that fits several points is ambiguous and the
line says which points it could be. A line without a code gets a generated one,
the same on every import of the same line: `P-` and 12 letters and digits from the
line's parent (or, for a top-level point, its unit) and its name.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field

from store.models import PointKind
from store.network.points import KIND_NAMES, LIMITS
from store.network.tokens import SHORT_ALPHABET
from store.network.units import Directory, Scope, UnitError

KINDS = {k.value: k for k in PointKind} | {v: PointKind(k) for k, v in KIND_NAMES.items()}
CODE_LIMIT = 64
GENERATED_PREFIX = "P-"
GENERATED_LEN = 12
# How many candidates an ambiguous name lists.
CANDIDATES_SHOWN = 5


def generated_code(base: str, name: str) -> str:
    """A stable code for a line without one: where it hangs (`base`) and its name."""
    digest = int.from_bytes(hashlib.sha256(f"{base}\x1f{name}".encode()).digest()[:10], "big")
    out = ""
    for _ in range(GENERATED_LEN):
        digest, digit = divmod(digest, len(SHORT_ALPHABET))
        out += SHORT_ALPHABET[digit]
    return GENERATED_PREFIX + out


@dataclass(frozen=True)
class Existing:
    """A point already in the database, as the plan needs it."""

    id: int
    code: str | None
    name: str
    parent_id: int | None
    unit_id: int | None
    kind: PointKind = PointKind.COMMUNITY

    @property
    def ref(self) -> str:
        return self.code or f"#{self.id}"


@dataclass
class Planned:
    """One line of the file and what it will do."""

    line: int
    rec: dict[str, str]
    # The point it updates, if any.
    target: int | None = None
    # The code it will carry (None: keep the point's, for a `#id` line).
    code: str | None = None
    generated: bool = False
    # Who it is, once known: `pt:<id>` for an existing point, `new:<code>` otherwise.
    key: str | None = None
    # Its parent's key; `None` for none. Unset while not yet known.
    parent: str | None = None
    parent_known: bool = False
    unit_id: int | None = None  # from the unit cell
    unit_given: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.rec.get("name", "")


class Plan:
    """Resolve every line against the file and the database; `errors` says what is wrong."""

    def __init__(self, rows: list[tuple[int, dict[str, str]]], existing: list[Existing],
                 units: Directory, scope: Scope) -> None:
        self.rows = [Planned(line, rec) for line, rec in rows]
        self.existing = {p.id: p for p in existing}
        self.by_code = {p.code: p for p in existing if p.code}
        self.by_name: dict[str, list[Existing]] = {}
        self.children: dict[tuple[int | None, str], list[Existing]] = {}
        for p in existing:
            self.by_name.setdefault(p.name, []).append(p)
            if p.code is None:
                self.children.setdefault((p.parent_id, p.name), []).append(p)
        self.units = units
        self.scope = scope
        self.file_codes: dict[str, Planned] = {}
        self.file_names: dict[str, list[Planned]] = {}
        self._resolve()

    # -- results -------------------------------------------------------------

    def errors(self) -> list[tuple[int, str]]:
        return sorted(((row.line, e) for row in self.rows for e in row.errors),
                      key=lambda pair: pair[0])

    def by_key(self) -> dict[str, Planned]:
        """Each point's first line (a later one naming the same point is an error)."""
        out: dict[str, Planned] = {}
        for row in self.rows:
            if row.key is not None:
                out.setdefault(row.key, row)
        return out

    # -- resolution ------------------------------------------------------------

    def _resolve(self) -> None:
        for row in self.rows:
            self._check_fields(row)
            self.file_names.setdefault(row.name, []).append(row)
        for row in self.rows:
            self._explicit_code(row)
        queue = deque(self.rows)
        waiting: dict[int, list[Planned]] = {}
        while queue:
            row = queue.popleft()
            blocker = self._step(row)
            if blocker is not None:
                waiting.setdefault(blocker.line, []).append(row)
            elif row.key is not None or row.errors:
                # Settled: lines that named it as a parent can go on.
                queue.extend(waiting.pop(row.line, []))
        for row in self.rows:
            if not row.errors and (row.key is None or not row.parent_known):
                row.errors.append("上级关系成环，无法确定 / the parents loop")
        self._check_duplicates()
        self._check_cycles()
        self._check_units()

    def _check_fields(self, row: Planned) -> None:
        rec = row.rec
        if not row.name:
            row.errors.append("名称不能为空 / name is empty")
        for column, limit in (*LIMITS.items(), ("code", CODE_LIMIT)):
            if len(rec.get(column, "")) > limit:
                row.errors.append(f"{column} 超过 {limit} 字 / {column} longer than {limit}")
        if rec.get("kind") and rec["kind"] not in KINDS:
            row.errors.append(f"类型「{rec['kind']}」无效 / unknown kind")
        if rec.get("unit"):
            try:
                row.unit_id = self.units.find(rec["unit"])
                row.unit_given = True
            except UnitError as exc:
                row.errors.append(str(exc))

    def _explicit_code(self, row: Planned) -> None:
        code = row.rec.get("code", "")
        if not code:
            return
        if code in self.file_codes:
            row.errors.append(f"编码「{code}」重复（第 {self.file_codes[code].line} 行已有）/ "
                              "duplicate code")
            return
        self.file_codes[code] = row
        if code.startswith("#") and code[1:].isdigit():
            if int(code[1:]) not in self.existing:
                row.errors.append(f"没有 {code} 号采集点 / no such point")
                return
            row.target = int(code[1:])
        else:
            point = self.by_code.get(code)
            row.target = point.id if point else None
            row.code = code
        row.key = f"pt:{row.target}" if row.target is not None else f"new:{code}"

    def _step(self, row: Planned) -> Planned | None:
        """Resolve the row's parent, then (without a code) who it is; a row it waits on."""
        if row.errors and row.key is None and row.rec.get("code"):
            return None  # a bad code: nothing to resolve
        if not row.parent_known:
            blocker = self._resolve_parent(row)
            if blocker is not None or not row.parent_known:
                return blocker
        if row.key is None:
            self._identify(row)
        return None

    def _resolve_parent(self, row: Planned) -> Planned | None:
        ref = row.rec.get("parent", "")
        if not ref:
            row.parent, row.parent_known = None, True
            return None
        if ref in self.file_codes and self.file_codes[ref].key is not None:
            row.parent, row.parent_known = self.file_codes[ref].key, True
            return None
        if ref in self.by_code:
            row.parent, row.parent_known = f"pt:{self.by_code[ref].id}", True
            return None
        if ref.startswith("#") and ref[1:].isdigit() and int(ref[1:]) in self.existing:
            row.parent, row.parent_known = f"pt:{ref[1:]}", True
            return None
        in_file = [r for r in self.file_names.get(ref, []) if r is not row]
        for other in in_file:
            if other.key is None:
                if other.errors:
                    continue
                return other
        keys: dict[str, str] = {}
        for other in in_file:
            if other.key is not None:
                keys.setdefault(other.key, f"第 {other.line} 行（上级：{other.rec.get('parent') or '无'}）")
        for point in self.by_name.get(ref, []):
            keys.setdefault(f"pt:{point.id}", f"{self._path(point)}（{point.ref}）")
        keys.pop(row.key or "", None)
        if len(keys) == 1:
            row.parent, row.parent_known = next(iter(keys)), True
            return None
        broken = [other.line for other in in_file if other.key is None]
        if not keys and broken:
            row.errors.append(f"上级「{ref}」在第 {broken[0]} 行，那一行有误 / "
                              f"the parent's line {broken[0]} is bad")
        elif not keys:
            if ref == row.name:
                row.errors.append("上级不能是自己 / a point cannot be its own parent")
            else:
                row.errors.append(f"上级「{ref}」不存在 / unknown parent {ref!r}")
        else:
            shown = list(keys.values())[:CANDIDATES_SHOWN]
            more = f" 等 {len(keys)} 个" if len(keys) > CANDIDATES_SHOWN else ""
            row.errors.append(f"上级「{ref}」不明确，有 {len(keys)} 个同名采集点：" + "；".join(shown)
                              + f"{more}。请改填上级的编码 / the parent name {ref!r} fits "
                              f"{len(keys)} points; give its code")
        return None

    def _base(self, key: str | None, unit_id: int | None) -> str:
        """Where a code-less line hangs, for its generated code."""
        if key is None:
            return f"unit:{unit_id or ''}"
        if key.startswith("pt:"):
            return self.existing[int(key[3:])].ref
        return key[4:]

    def _identify(self, row: Planned) -> None:
        """Who a line without a code is: a point imported before, a code-less point with the
        same name and parent, or a new one."""
        code = generated_code(self._base(row.parent, row.unit_id), row.name)
        row.code, row.generated = code, True
        if code in self.by_code:
            row.target = self.by_code[code].id
        else:
            parent_id = int(row.parent[3:]) if row.parent and row.parent.startswith("pt:") else None
            same = ([] if row.parent and parent_id is None else
                    [p for p in self.children.get((parent_id, row.name), [])
                     if parent_id is not None or p.unit_id == row.unit_id])
            if len(same) > 1:
                row.errors.append(f"已有 {len(same)} 个名为「{row.name}」且上级相同的采集点（"
                                  + "、".join(f"#{p.id}" for p in same)
                                  + "），请填写编码 / several such points exist; give a code")
            elif same:
                row.target = same[0].id
        row.key = f"pt:{row.target}" if row.target is not None else f"new:{code}"

    def _path(self, point: Existing) -> str:
        names: list[str] = []
        seen: set[int] = set()
        current: Existing | None = point
        while current is not None and current.id not in seen and len(names) < 12:
            seen.add(current.id)
            names.append(current.name)
            current = self.existing.get(current.parent_id) if current.parent_id else None
        return " › ".join(reversed(names))

    # -- whole-file checks -----------------------------------------------------

    def _check_duplicates(self) -> None:
        first: dict[str, Planned] = {}
        for row in self.rows:
            if row.key is None:
                continue
            if row.key in first and not row.errors:
                earlier = first[row.key]
                row.errors.append(f"与第 {earlier.line} 行是同一个采集点（名称和上级都相同）/ "
                                  f"the same point as line {earlier.line}")
            first.setdefault(row.key, row)

    def _parent_of(self, key: str, rows: dict[str, Planned]) -> str | None:
        row = rows.get(key)
        if row is not None and "parent" in row.rec:
            return row.parent
        if key.startswith("pt:"):
            parent_id = self.existing[int(key[3:])].parent_id
            return f"pt:{parent_id}" if parent_id is not None else None
        return None

    def _check_cycles(self) -> None:
        rows = self.by_key()
        safe: set[str] = set()
        for row in self.rows:
            if row.key is None or row.errors:
                continue
            if row.parent == row.key:
                row.errors.append("上级不能是自己 / a point cannot be its own parent")
                continue
            walk: list[str] = []
            current: str | None = row.key
            while current is not None and current not in safe:
                if current in walk:
                    row.errors.append("上级关系成环 / the parents make a cycle")
                    break
                walk.append(current)
                current = self._parent_of(current, rows)
            else:
                safe.update(walk)

    def unit_of(self, key: str | None, rows: dict[str, Planned]) -> int | None:
        """The unit a point will be in: its unit cell, else the one it has, else its parent's."""
        seen: set[str] = set()
        while key is not None and key not in seen:
            seen.add(key)
            row = rows.get(key)
            if row is not None and row.unit_given:
                return row.unit_id
            if key.startswith("pt:"):
                return self.existing[int(key[3:])].unit_id
            key = row.parent if row is not None else None
        return None

    def _check_units(self) -> None:
        rows = self.by_key()
        scope = self.scope
        for row in self.rows:
            if row.key is None or row.errors:
                continue
            if row.target is not None:
                current = self.existing[row.target]
                if not scope.covers(current.unit_id):
                    row.errors.append(f"采集点「{current.name}」（{current.ref}）属于"
                                      f"{self._unit_label(current.unit_id)}，不在您管理的范围内 / "
                                      "the point is outside the units you manage")
                    continue
            if row.parent and row.parent not in rows and row.parent.startswith("pt:"):
                above = self.existing[int(row.parent[3:])]
                unchanged = row.target is not None and \
                    self.existing[row.target].parent_id == above.id
                if not scope.covers(above.unit_id) and not unchanged:
                    row.errors.append(f"上级采集点「{above.name}」（{above.ref}）属于"
                                      f"{self._unit_label(above.unit_id)}，不在您管理的范围内 / "
                                      "the parent point is outside the units you manage")
                    continue
            unit_id = self.unit_of(row.key, rows)
            if unit_id is None:
                if row.target is None and (not scope.everything or self.units.any_active):
                    row.errors.append("请填写单位（或一个有单位的上级） / no unit: give one, "
                                      "or a parent that has one")
            elif not scope.covers(unit_id):
                row.errors.append(f"单位{self._unit_label(unit_id)}不在您管理的范围内 / "
                                  f"unit #{unit_id} is outside the units you manage")
            elif self.units.retired(unit_id) and (
                    row.target is None or self.existing[row.target].unit_id != unit_id):
                row.errors.append(f"单位{self._unit_label(unit_id)}已撤销 / "
                                  f"unit #{unit_id} is retired")

    def _unit_label(self, unit_id: int | None) -> str:
        if unit_id is None:
            return "「未指定单位」"
        return f"「{self.units.path(unit_id)}」（#{unit_id}）"
