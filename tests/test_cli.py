"""The `minyi` command: what it prints and what it stores."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from minyi.cli import main
from store.db import make_engine, make_sessionmaker
from store.models import CollectionPoint, Role, Unit, User
from store.network import tokens, users
from store.review import templates
from tests.conftest import SECRET

ENV_NAMES = ("MINYI_ENV", "MINYI_INSTANCE", "DATABASE_URL", "SECRET_KEY", "SECRET_KEY_FILE",
             "PUBLIC_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "MINYI_ADMIN_USER",
             "MINYI_ADMIN_PASSWORD", "PORT")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> str:
    """A clean environment pointing at an empty database; returns its URL."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    # A developer's own .env must not leak into the tests.
    monkeypatch.setattr("dotenv.load_dotenv", lambda *a, **k: False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("MINYI_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("PUBLIC_URL", "https://minyi.example.test")
    return db_url


def _users(url: str) -> list[User]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return list(s.scalars(sa.select(User).order_by(User.id)))
    finally:
        engine.dispose()


def _check(url: str, name: str, password: str) -> bool:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return users.authenticate(s, name, password) is not None
    finally:
        engine.dispose()


def test_it_creates_the_database_and_an_admin_with_a_password_shown_once(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0

    out = capsys.readouterr().out
    assert "Administrator created" in out
    password = re.search(r"password / 密码: (\S+)", out)
    assert password is not None
    [admin] = _users(env)
    assert (admin.username, admin.role) == ("admin", Role.ADMIN)
    assert _check(env, "admin", password.group(1))


def test_it_leaves_an_existing_admin_alone_on_a_second_init(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init"])
    capsys.readouterr()

    assert main(["init"]) == 0

    out = capsys.readouterr().out
    assert "exists already" in out
    assert "password" not in out
    assert len(_users(env)) == 1


def test_it_takes_the_admin_from_flags(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--admin-user", "zhang", "--admin-password", "s3cret-enough"]) == 0

    out = capsys.readouterr().out
    assert "zhang" in out and "s3cret-enough" not in out
    assert _check(env, "zhang", "s3cret-enough")


def test_it_takes_the_admin_from_the_environment(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINYI_ADMIN_USER", "li")
    monkeypatch.setenv("MINYI_ADMIN_PASSWORD", "another-password")

    assert main(["init"]) == 0

    assert _check(env, "li", "another-password")


def test_it_rejects_a_short_admin_password(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--admin-user", "zhang", "--admin-password", "short"]) == 1

    assert "at least" in capsys.readouterr().err
    assert _users(env) == []


def test_it_adds_a_staff_user(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    capsys.readouterr()

    assert main(["user", "add", "carol", "--role", "clerk", "--password", "clerk-password"]) == 0

    assert "carol (clerk)" in capsys.readouterr().out
    carol = _users(env)[-1]
    assert (carol.username, carol.role) == ("carol", Role.CLERK)
    assert _check(env, "carol", "clerk-password")


def test_it_makes_up_a_password_for_a_user_added_without_one(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init"])
    capsys.readouterr()

    assert main(["user", "add", "victor", "--role", "viewer"]) == 0

    password = re.search(r"password / 密码: (\S+)", capsys.readouterr().out)
    assert password is not None
    assert _check(env, "victor", password.group(1))


def test_it_sets_a_new_password(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    capsys.readouterr()

    assert main(["user", "password", "admin", "--password", "new-password-1"]) == 0

    assert "Password changed" in capsys.readouterr().out
    assert _check(env, "admin", "new-password-1")
    assert main(["user", "password", "nobody", "--password", "new-password-1"]) == 1
    assert "no user named nobody" in capsys.readouterr().err
    assert main(["user", "password", "admin", "--password", "short"]) == 1
    assert _check(env, "admin", "new-password-1")


def test_it_refuses_a_duplicate_user(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init", "--admin-user", "zhang", "--admin-password", "s3cret-enough"])
    capsys.readouterr()

    assert main(["user", "add", "zhang", "--role", "clerk", "--password", "whatever-1"]) == 1

    assert "already exists" in capsys.readouterr().err
    assert len(_users(env)) == 1


def test_it_refuses_an_unknown_role(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["user", "add", "x", "--role", "emperor"])

    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_it_adds_a_point_and_prints_its_links(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@minyi_bot")
    main(["init"])
    capsys.readouterr()

    assert main(["point", "add", "城关镇便民服务中心", "--address", "人民路1号"]) == 0

    out = capsys.readouterr().out
    token = re.search(r"token:\s+(\S+)", out)
    assert token is not None
    parsed = tokens.parse(SECRET, token.group(1))
    engine = make_engine(env)
    with make_sessionmaker(engine)() as s:
        [point] = s.scalars(sa.select(CollectionPoint)).all()
    engine.dispose()
    assert parsed is not None and parsed.point_id == point.id
    assert (point.name, point.address) == ("城关镇便民服务中心", "人民路1号")
    assert f"https://t.me/minyi_bot?start={token.group(1)}" in out
    assert f"https://minyi.example.test/c/{token.group(1)}" in out


def test_it_says_the_bot_username_is_needed_for_the_telegram_link(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init"])
    capsys.readouterr()

    assert main(["point", "add", "社区议事厅"]) == 0

    out = capsys.readouterr().out
    assert "TELEGRAM_BOT_USERNAME" in out
    assert "https://t.me/" not in out
    assert "https://minyi.example.test/c/p1_1_" in out


def test_it_lists_points(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    main(["point", "list"])
    assert "No collection points yet" in capsys.readouterr().out
    main(["point", "add", "甲街道"])
    main(["point", "add", "乙社区", "--address", "乙路2号"])
    capsys.readouterr()

    assert main(["point", "list"]) == 0

    out = capsys.readouterr().out
    assert "#1 甲街道" in out and "#2 乙社区 — 乙路2号" in out
    assert out.count("/c/p") == 2


def test_it_asks_for_init_before_anything_else(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["point", "list"]) == 1

    assert "minyi init" in capsys.readouterr().err


def test_it_refuses_to_serve_an_uninitialised_database(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"]) == 1

    assert "minyi init" in capsys.readouterr().err


def test_it_stops_in_production_without_a_secret_key(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MINYI_ENV", "production")
    monkeypatch.delenv("SECRET_KEY")

    assert main(["init"]) == 2

    err = capsys.readouterr().err
    assert "SECRET_KEY is not set" in err
    assert "Traceback" not in err
    assert not (Path.cwd() / "instance").exists()


def _units(url: str) -> list[tuple[str, str, int | None]]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            return [(u.name, u.kind.value, u.parent_id)
                    for u in s.scalars(sa.select(Unit).order_by(Unit.id))]
    finally:
        engine.dispose()


def test_init_gives_the_office_its_decline_reasons_once(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init"])
    assert "不采用原因" in capsys.readouterr().out
    main(["init"])
    assert "不采用原因" not in capsys.readouterr().out

    engine = make_engine(env)
    try:
        with make_sessionmaker(engine)() as s:
            offered = templates.active(s)
            assert len(offered) == 1 + len(templates.DEFAULTS)
            assert templates.already_handled(s) is not None
    finally:
        engine.dispose()


def test_it_adds_and_lists_units(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    capsys.readouterr()

    assert main(["unit", "add", "城关县政协", "--kind", "cppcc"]) == 0
    assert "Unit #1" in capsys.readouterr().out
    assert main(["unit", "add", "县住建局", "--kind", "department", "--parent", "1"]) == 0
    assert main(["unit", "list"]) == 0

    out = capsys.readouterr().out
    assert "#1 城关县政协 (cppcc)\n  #2 县住建局 (department)" in out
    assert _units(env) == [("城关县政协", "cppcc", None), ("县住建局", "department", 1)]


def test_it_refuses_a_unit_with_an_unknown_parent_or_kind(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init"])
    capsys.readouterr()

    assert main(["unit", "add", "县水利局", "--kind", "department", "--parent", "9"]) == 1
    assert "#9" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["unit", "add", "县水利局", "--kind", "ministry"])
    assert _units(env) == []
    assert main(["unit", "list"]) == 0
    assert "No units yet" in capsys.readouterr().out


def test_it_adds_a_staff_user_to_a_unit(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    main(["unit", "add", "县住建局", "--kind", "department"])
    capsys.readouterr()

    assert main(["user", "add", "dora", "--role", "department", "--password", "dept-password",
                 "--unit", "1"]) == 0
    assert main(["user", "add", "dan", "--role", "department", "--password", "dept-password"]) == 1
    assert "unit" in capsys.readouterr().err
    assert main(["user", "add", "eve", "--role", "clerk", "--password", "clerk-password",
                 "--unit", "7"]) == 1

    added = {u.username: u.unit_id for u in _users(env)}
    assert added["dora"] == 1 and "dan" not in added and "eve" not in added


def test_search_rebuild_and_fold_from_the_command_line(
        env: str, capsys: pytest.CaptureFixture[str]) -> None:
    from store import search
    from tests.domain_support import make_report

    assert main(["init", "--admin-user", "boss", "--admin-password", "a-long-password"]) == 0
    engine = make_engine(env)
    try:
        with make_sessionmaker(engine)() as s, s.begin():
            make_report(s, title="老旧小区加装电梯", commit=False)
            # A restore from an old dump, say: the index lost its rows.
            s.execute(sa.text("DELETE FROM report_fts" if env.startswith("sqlite")
                              else "DELETE FROM report_search"))
        boss = _users(env)[0]

        def found(q: str) -> int:
            with make_sessionmaker(engine)() as s:
                return search.search(s, boss, search.Filters(q=q)).total

        assert found("电梯") == 0
        capsys.readouterr()
        assert main(["search", "rebuild"]) == 0
        assert "已重建 1 条信息的检索索引" in capsys.readouterr().out
        if not env.startswith("sqlite"):  # the old rows vacuumed away (`search.settle`)
            with engine.connect() as conn:
                assert conn.scalar(sa.text(
                    "SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables "
                    "WHERE relid = to_regclass('report_search')"))
        assert found("电梯") == 1 and found("電梯") == 0
        # Offline (PostgreSQL: TRUNCATE, and the GIN index dropped and built again at the end).
        assert main(["search", "rebuild", "--offline"]) == 0
        assert "已重建 1 条信息的检索索引" in capsys.readouterr().out
        if not env.startswith("sqlite"):
            with engine.connect() as conn:
                assert conn.scalar(sa.text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_report_search_unit_doc' "
                    "AND schemaname = current_schema()")).endswith("USING gin (unit_id, doc, grams)")
        assert found("电梯") == 1 and found("加装电梯") == 1
        assert main(["search", "fold", "on"]) == 0
        assert "已开启" in capsys.readouterr().out
        assert found("電梯") == 1
    finally:
        engine.dispose()
