"""Shared fixtures: a fresh database per test, settings, and personas.

Every test that touches the database runs on SQLite; when
`MINYI_TEST_POSTGRES_URL` is set (`.ci/run` sets it when PostgreSQL answers)
it runs on PostgreSQL too, each test in a schema of its own.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi.settings import Settings
from store import sealing
from store.conversation.engine import Engine
from store.conversation.types import EngineConfig
from store.db import make_engine, make_sessionmaker
from store.models import Base, CollectionPoint, Role, Unit, UnitKind, User
from store.network import points as points_mod
from store.network import users

# The browser tests' fixtures (base_url, browser, axe_context) and the WeChat tests' (emu, wx)
# live with their helpers.
pytest_plugins = ["tests.browser_support", "tests.a11y_support", "tests.wechat_support"]

PG_URL = os.environ.get("MINYI_TEST_POSTGRES_URL")
SECRET = "test-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery"
# The data key every test seals reporters' details with (store.sealing); made once per run.
DATA_KEY = sealing.new_key()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        backends = ["sqlite"] + (["postgresql"] if PG_URL else [])
        metafunc.parametrize("db_backend", backends, scope="function")


@pytest.fixture(autouse=True)
def data_key() -> Iterator[str]:
    """Every test runs with the data key installed, as `minyi serve` installs it at start-up."""
    sealing.install(sealing.Keyring.of([DATA_KEY]))
    yield DATA_KEY
    sealing.install(None)


@pytest.fixture
def db_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database; on PostgreSQL a throwaway schema."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_pg(PG_URL))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{_pg(PG_URL)}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


def _pg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@pytest.fixture
def db_engine(db_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def Session_(db_engine: sa.Engine) -> sessionmaker[Session]:  # noqa: N802
    return make_sessionmaker(db_engine)


class _TestSession(Session):
    """The tests' session: `rollback()` expires everything it holds, always.

    A test arranges rows and commits, the code under test changes them in
    sessions of its own, and the test calls `rollback()` to read them afresh.
    A rollback with no transaction begun since the commit expires nothing (the
    sessions keep their objects on commit: `store.db.make_sessionmaker`), so
    the read could be answered from objects still in memory, depending on when
    the garbage collector last ran (test_authorization's sign-off flaked so).
    """

    def rollback(self) -> None:
        super().rollback()
        self.expire_all()


@pytest.fixture
def session(db_engine: sa.Engine, db_url: str) -> Iterator[Session]:
    """The test's own session, for arranging and inspecting.

    On SQLite it uses deferred transactions, so a test that has only read
    does not hold the write lock the code under test needs.

    Its `rollback()` always expires what it holds (`_TestSession`).
    """
    engine = make_engine(db_url, sqlite_immediate=False) if db_url.startswith("sqlite") else db_engine
    with sessionmaker(engine, class_=_TestSession, expire_on_commit=False)() as s:
        yield s
    if engine is not db_engine:
        engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        env="test", instance_dir=tmp_path / "instance", database_url=db_url,
        secret_key=SECRET, public_url="http://minyi.test", telegram_bot_username="minyi_test_bot",
        data_keys=(DATA_KEY,),
    )


def _user(session: Session, name: str, role: Role) -> User:
    user = users.create_user(session, name, PASSWORD, role, display_name=name.title())
    session.commit()
    return user


@pytest.fixture
def admin(session: Session) -> User:
    return _user(session, "alice", Role.ADMIN)


@pytest.fixture
def clerk(session: Session) -> User:
    return _user(session, "carol", Role.CLERK)


@pytest.fixture
def viewer(session: Session) -> User:
    return _user(session, "victor", Role.VIEWER)


@pytest.fixture
def director(session: Session) -> User:
    return _user(session, "david", Role.DIRECTOR)


@pytest.fixture
def secretary(session: Session) -> User:
    return _user(session, "sophia", Role.SECRETARY_GENERAL)


@dataclass
class Network:
    """A county CPPCC with a township below it, a neighbour county, and two departments."""

    county: Unit
    township: Unit
    other_county: Unit
    roads: Unit  # 县住建局: a department under the county
    water: Unit  # 县水利局


@pytest.fixture
def network(session: Session) -> Network:
    county = Unit(name="城关县政协", kind=UnitKind.CPPCC)
    other = Unit(name="东山县政协", kind=UnitKind.CPPCC)
    session.add_all([county, other])
    session.flush()
    township = Unit(name="城关镇政协联络组", kind=UnitKind.CPPCC, parent_id=county.id)
    roads = Unit(name="县住建局", kind=UnitKind.DEPARTMENT, parent_id=county.id)
    water = Unit(name="县水利局", kind=UnitKind.DEPARTMENT, parent_id=county.id)
    session.add_all([township, roads, water])
    session.commit()
    return Network(county, township, other, roads, water)


def staff(session: Session, name: str, role: Role, unit: Unit | None = None) -> User:
    """A staff member of `unit` (None: the whole network), committed."""
    user = users.create_user(session, name, PASSWORD, role, display_name=name.title())
    user.unit_id = unit.id if unit else None
    session.commit()
    return user


@pytest.fixture
def point(session: Session) -> CollectionPoint:
    p = points_mod.create_point(session, "城关镇便民服务中心", address="城关镇人民路1号")
    session.commit()
    return p


@pytest.fixture
def point_token(point: CollectionPoint) -> str:
    return points_mod.token_for(point, SECRET)


# -- the conversation engine ---------------------------------------------------------


@pytest.fixture
def engine_config(settings: Settings) -> EngineConfig:
    """The engine's configuration as `minyi serve` builds it, with flood control out of the way.

    A test about a limit makes its own engine from this one:
    `Engine(dataclasses.replace(engine_config, flood_burst=5))`.
    """
    return dataclasses.replace(settings.engine_config(), flood_burst=100_000)


@pytest.fixture
def engine(engine_config: EngineConfig) -> Engine:
    """The one conversation engine of a test; every channel and driver talks to it."""
    return Engine(engine_config)


@pytest.fixture
def chat(Session_: sessionmaker[Session], engine: Engine):  # noqa: N803, ANN201
    """A Telegram user talking to `engine` directly (`tests.chat_driver.Chat`)."""
    from tests.chat_driver import Chat

    return Chat(Session_, engine)


# -- the Flask app (console + web chat) -----------------------------------------


@pytest.fixture
def app(settings: Settings, Session_: sessionmaker[Session]):  # noqa: N803, ANN201
    """The console and web chat over the test database, CSRF switched on as in production."""
    from web import create_app

    flask_app = create_app(settings, session_factory=Session_)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()
