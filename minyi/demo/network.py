"""The network `minyi seed` files reports into: units, points, staff, topics, reporters.

A province CPPCC with its offices and parties; cities, each with counties,
a party committee and departments; in each county a point tree (county →
townships / streets → communities and villages, member studios, 民生议事堂),
every point belonging to its county. Staff: one administrator for the whole
network, a director and a secretary-general per city, a clerk per county and
one account per department, all with a random password nobody knows
(`minyi user password NAME` sets one). Reporters are written with Core in
bulk; everything else through the ORM (a few thousand rows).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from minyi.demo.text import Theme, Where, Words
from store.models import (
    Channel,
    CollectionPoint,
    Member,
    PointKind,
    Reporter,
    ReporterKind,
    Role,
    Topic,
    Unit,
    UnitKind,
    User,
)
from store.network import users

CITIES = 6
COUNTIES_PER_CITY = 7
TOWNS_PER_COUNTY = (4, 6)
COMMUNITIES_PER_TOWN = (3, 5)
MEMBER_SHARE = 0.05  # of reporters
SECTORS = ("中共界", "民盟界", "经济界", "农业界", "教育界", "科技界", "医药卫生界", "社会福利界")
TOPICS = 10
TOPIC_DAYS = (45, 90)
USERNAME_PREFIX = "seed-"


@dataclass(frozen=True)
class PointInfo:
    id: int
    unit_id: int
    where: Where


@dataclass(frozen=True)
class TopicInfo:
    id: int
    theme: str
    opens: datetime
    closes: datetime


@dataclass
class Network:
    """What the report generator needs to know about the network, by id."""

    admin_id: int
    units: int = 0
    users: int = 0
    # county unit id -> its points; how busy each county is (a weight).
    points: dict[int, list[PointInfo]] = field(default_factory=dict)
    county_weight: dict[int, float] = field(default_factory=dict)
    # county unit id -> its clerk, who reviews its reports (the admin reviews the others).
    reviewer: dict[int, int] = field(default_factory=dict)
    # unit id -> index of its city; (city index, department key) -> (unit id, its user's id).
    city_of: dict[int, int] = field(default_factory=dict)
    departments: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)
    # unit id -> where its reports without a point are (a party's city, a county's seat).
    seat: dict[int, Where] = field(default_factory=dict)
    topics: list[TopicInfo] = field(default_factory=list)
    citizens: tuple[int, int] = (0, 0)  # first id, count
    members: list[tuple[int, int]] = field(default_factory=list)  # (reporter id, unit id)
    names: dict[int, str] = field(default_factory=dict)  # reporter id -> display name
    # reporter id -> (roster member id, the source their own reports record)
    roster: dict[int, tuple[int, str]] = field(default_factory=dict)

    @property
    def point_count(self) -> int:
        return sum(len(p) for p in self.points.values())


def build(session: Session, words: Words, rng: random.Random, *, citizens: int,
          start: datetime, end: datetime) -> Network:
    """Write the network in the caller's transaction and describe it."""
    places, unit_words = words["places"], words["units"]
    # One unknown password for every seeded account: hashing is slow on purpose.
    password_hash = users.hash_password(secrets.token_urlsafe(24))
    staff = 0

    def user(name: str, role: Role, unit_id: int | None, display: str) -> int:
        nonlocal staff
        u = User(username=USERNAME_PREFIX + name, display_name=display, role=role,
                 unit_id=unit_id, password_hash=password_hash, created_at=start)
        session.add(u)
        session.flush()
        staff += 1
        return u.id

    def unit(name: str, kind: UnitKind, parent: Unit | None) -> Unit:
        u = Unit(name=name, kind=kind, parent_id=parent.id if parent else None, created_at=start)
        session.add(u)
        session.flush()
        return u

    province = unit(f"{places['province']}政协", UnitKind.CPPCC, None)
    for name in unit_words["province_offices"]:
        unit(name, UnitKind.FEDERATION if "工商" in name else UnitKind.COMMITTEE, province)
    for party in unit_words["parties"]:
        unit(f"{party}{places['province']}委", UnitKind.PARTY, province)
    net = Network(admin_id=user("admin", Role.ADMIN, None, "系统管理员"))

    counties = rng.sample(places["counties"], CITIES * COUNTIES_PER_CITY)
    for ci, city_name in enumerate(places["cities"][:CITIES]):
        city = unit(f"{city_name}政协", UnitKind.CPPCC, province)
        user(f"director-{ci + 1}", Role.DIRECTOR, city.id, f"{city_name}政协办公室主任")
        user(f"secretary-{ci + 1}", Role.SECRETARY_GENERAL, city.id, f"{city_name}政协秘书长")
        party = unit(f"{rng.choice(unit_words['parties'])}{city_name}委", UnitKind.PARTY, city)
        for dep in unit_words["departments"]:
            d = unit(f"{city_name}{dep['name']}", UnitKind.DEPARTMENT, city)
            net.departments[(ci, dep["key"])] = (d.id, user(f"dept-{d.id}", Role.DEPARTMENT, d.id,
                                                            d.name))
        for k in range(COUNTIES_PER_CITY):
            county_name = counties[ci * COUNTIES_PER_CITY + k]
            county = unit(f"{county_name}政协", UnitKind.CPPCC, city)
            net.reviewer[county.id] = user(f"clerk-{county.id}", Role.CLERK, county.id,
                                           f"{county_name}政协信息员")
            net.county_weight[county.id] = rng.lognormvariate(0, 0.6)
            net.points[county.id] = _points(session, rng, words, city_name, county_name, county.id,
                                            start)
            net.seat[county.id] = net.points[county.id][0].where
            net.city_of[county.id] = ci
        # A party committee's own reports are about the city's first county, its seat.
        net.seat[party.id] = next(net.seat[u] for u in net.points if net.city_of[u] == ci)
        net.city_of[party.id] = ci

    net.units = session.scalar(sa.select(sa.func.count()).select_from(Unit)) or 0
    net.users = staff
    net.topics = _topics(session, words.themes, rng, net.admin_id, start, end)
    _reporters(session, net, words, rng, citizens, start)
    return net


def _points(session: Session, rng: random.Random, words: Words, city: str, county: str,
            unit_id: int, start: datetime) -> list[PointInfo]:
    """A county's point tree; the first point returned is the county's own."""
    places = words["places"]
    district = county.endswith("区")
    code = f"S{unit_id:03d}"
    n = 0

    def point(name: str, kind: PointKind, parent: CollectionPoint | None, town: str,
              road: str) -> CollectionPoint:
        nonlocal n
        n += 1
        p = CollectionPoint(
            name=name, kind=kind, parent_id=parent.id if parent else None, unit_id=unit_id,
            code=f"{code}-{n:03d}", address=f"{city}{county}{town}{road}{rng.randint(1, 299)}号",
            contact=f"{rng.choice(words['names']['surnames'])}老师 0{rng.randint(700, 799)}-"
                    f"{rng.randint(2000000, 8999999)}",
            created_at=start)
        session.add(p)
        return p

    stems = rng.sample(places["town_stems"][1:], TOWNS_PER_COUNTY[1])
    towns = [("城关镇" if not district else "城关街道")] + [
        s + (rng.choice(["街道", "街道", "镇"]) if district else rng.choice(["镇", "镇", "乡"]))
        for s in stems[:rng.randint(*TOWNS_PER_COUNTY) - 1]]
    seat = point(f"{county}民意直通车服务站", PointKind.COUNTY, None, towns[0], "府前街")
    session.flush()
    out = [PointInfo(seat.id, unit_id, Where(city, county, towns[0]))]
    pending: list[tuple[CollectionPoint, Where]] = []
    for ti, town in enumerate(towns):
        kind = PointKind.STREET if town.endswith("街道") else PointKind.TOWNSHIP
        tp = point(f"{county}{town}", kind, seat, town, rng.choice(places["roads"]))
        session.flush()
        pending.append((tp, Where(city, county, town)))
        urban = kind is PointKind.STREET or ti == 0
        names: set[str] = set()
        while len(names) < rng.randint(*COMMUNITIES_PER_TOWN):
            if urban or rng.random() < 0.3:
                names.add(rng.choice(places["roads"] + places["estate_stems"]) + "社区")
            else:
                names.add(rng.choice(places["village_stems"]) + "村")
        for name in sorted(names):
            p = point(name, PointKind.COMMUNITY, tp, town, rng.choice(places["roads"]))
            pending.append((p, Where(city, county, town, name)))
        if ti % 2 == 0:
            p = point(f"{town}民生议事堂", PointKind.COUNCIL_HALL, tp, town, rng.choice(places["roads"]))
            pending.append((p, Where(city, county, town)))
    for _ in range(rng.randint(1, 2)):
        surname = rng.choice(words["names"]["surnames"])
        given = rng.choice(words["names"]["given"]) + rng.choice(words["names"]["given"])
        p = point(f"{surname}{given}委员工作室", PointKind.MEMBER_STUDIO, seat, towns[0], "人民路")
        pending.append((p, Where(city, county, towns[0])))
    session.flush()
    return out + [PointInfo(p.id, unit_id, where) for p, where in pending]


def _topics(session: Session, themes: tuple[Theme, ...], rng: random.Random, admin_id: int,
            start: datetime, end: datetime) -> list[TopicInfo]:
    """Topic calls spread over the period, each about one theme; the last may still be open."""
    span = (end - start) / TOPICS
    out = []
    for k, theme in enumerate(rng.sample(themes, min(TOPICS, len(themes)))):
        opens = start + span * k + timedelta(days=rng.randint(0, 20))
        closes = opens + timedelta(days=rng.randint(*TOPIC_DAYS))
        subject = rng.choice(theme.subjects)
        topic = Topic(title=f"关于{subject}的社情民意征集",
                      description=f"围绕{subject}，欢迎反映您身边的具体情况和意见建议。",
                      deadline=closes, created_by_id=admin_id, created_at=opens)
        session.add(topic)
        session.flush()
        out.append(TopicInfo(topic.id, theme.key, opens, closes))
    return out


def _reporters(session: Session, net: Network, words: Words, rng: random.Random, citizens: int,
               start: datetime) -> None:
    """Citizens and members, written in bulk with ids chosen here."""
    first = (session.scalar(sa.select(sa.func.max(Reporter.id))) or 0) + 1
    members = max(2, round(citizens * MEMBER_SHARE / (1 - MEMBER_SHARE)))
    member_units = list(net.points) + [u for u in net.seat if u not in net.points]
    names = words["names"]
    rows = []
    people: list[dict[str, object]] = []
    first_member = (session.scalar(sa.select(sa.func.max(Member.id))) or 0) + 1
    for i in range(citizens + members):
        rid = first + i
        member = i >= citizens
        telegram = rng.random() < 0.6
        name = rng.choice(names["surnames"]) + rng.choice(names["given"]) + (
            rng.choice(names["given"]) if rng.random() < 0.7 else "")
        external = f"{7_000_000_000 + rid}" if telegram else f"seed-{rid:08x}"
        unit_id = rng.choice(member_units) if member else None
        created = start - timedelta(days=rng.randint(1, 30))
        role = rng.choice(["member", "member", "informant"]) if member else None
        member_id = first_member + len(people) if member else None
        if member:
            # Sector and target from the id, so the random stream (and every seed) is unchanged.
            assert member_id is not None
            people.append({"id": member_id, "name": name, "role": role,
                           "sector": SECTORS[member_id % len(SECTORS)], "unit_id": unit_id,
                           "contact": None, "yearly_target": (2, 2, 3, 4)[member_id % 4],
                           "active": True, "created_at": created})
        rows.append({
            "id": rid, "channel": (Channel.TELEGRAM if telegram else Channel.WEB).value,
            "external_id": external, "chat_id": external,
            "kind": (ReporterKind.MEMBER if member else ReporterKind.CITIZEN).value,
            "display_name": name if telegram or member else None, "contact": None, "language": "zh",
            "blocked_at": None, "created_at": created,
            "member_name": name if member else None,
            "member_role": role, "member_id": member_id,
            "unit_id": unit_id, "topics_opt_in": member or rng.random() < 0.1,
        })
        net.names[rid] = name
        if member:
            assert unit_id is not None and member_id is not None and role is not None
            net.members.append((rid, unit_id))
            net.roster[rid] = (member_id, role)
    conn = session.connection()
    if people:
        conn.execute(sa.insert(cast(sa.Table, Member.__table__)), people)
    for i in range(0, len(rows), 5000):
        conn.execute(sa.insert(cast(sa.Table, Reporter.__table__)), rows[i:i + 5000])
    net.citizens = (first, citizens)
