"""Reporters' identity sealed at rest: the data key, its check at start-up, rotation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from minyi.cli import main
from minyi.settings import ConfigError, Settings
from store import access, migrate, rekey, sealing
from store.db import make_engine, make_sessionmaker
from store.models import CollectionPoint, Conversation, OfficeSetting, Report, Reporter, User
from store.sealing import SealingError
from tests.chat_driver import Chat
from tests.conftest import SECRET
from tests.domain_support import make_report, reporter

PHONE = "13800138000"
NAME = "张三丰"

RAW_IDENTITY = sa.text(
    "SELECT r.display_name, r.contact, r.member_name, p.contact, CAST(p.answers AS TEXT) "
    "FROM reports p JOIN reporters r ON r.id = p.reporter_id")


def _identify(session: Session, *, contact: str = f"{NAME} {PHONE}") -> Report:
    who = reporter(session)
    who.display_name, who.contact, who.member_name = NAME, PHONE, NAME
    return make_report(session, who=who, contact=contact)


def _raw(session: Session) -> list[str]:
    return [str(v) for row in session.execute(RAW_IDENTITY) for v in row if v is not None]


def test_it_keeps_no_plain_phone_number_or_name_in_the_database(
    session: Session, admin: User
) -> None:
    report = _identify(session)
    session.expire_all()

    raw = _raw(session)
    assert raw and not any(PHONE in v or NAME in v for v in raw)
    assert all(v.startswith(f"enc1:{sealing.keyring().primary}:") for v in raw[:4])
    # The application reads plain text, through the one reader.
    identity = access.reveal_identity(session, admin, session.get(Report, report.id), "test")
    assert identity is not None and identity.name == NAME
    assert ("联系方式", f"{NAME} {PHONE}") in identity.answers
    assert session.get(Report, report.id).contact == f"{NAME} {PHONE}"  # type: ignore[union-attr]


def test_it_refuses_to_store_a_contact_without_a_key(session: Session) -> None:
    sealing.install(None)
    session.add(Reporter(channel="telegram", external_id="x1", chat_id="x1", contact=PHONE))
    with pytest.raises((SealingError, StatementError), match="refuses to store"):
        session.commit()
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Reporter)) == 0


def test_it_says_which_key_a_value_needs_when_it_cannot_open_it(session: Session) -> None:
    _identify(session)
    session.expire_all()
    sealing.install(sealing.Keyring.of([sealing.new_key()]))
    with pytest.raises(SealingError, match="not among the configured keys"):
        session.scalars(sa.select(Reporter.contact)).all()


# -- settings --

BASE = {"SECRET_KEY": SECRET, "PUBLIC_URL": "https://minyi.example.test"}


def test_it_stops_production_start_up_without_a_data_key(tmp_path: Path) -> None:
    env = {**BASE, "MINYI_ENV": "production", "MINYI_INSTANCE": str(tmp_path)}
    with pytest.raises(ConfigError, match="MINYI_DATA_KEY is not set"):
        Settings.from_env(env, dotenv=False)
    # Even with a generated key lying in the instance folder: production names its key.
    (tmp_path / "data.key").write_text(sealing.new_key())
    with pytest.raises(ConfigError, match="MINYI_DATA_KEY is not set"):
        Settings.from_env(env, dotenv=False)


def test_it_reads_the_keys_from_a_file_newest_first(tmp_path: Path) -> None:
    new, old = sealing.new_key(), sealing.new_key()
    (tmp_path / "key").write_text(f"{new}, {old}\n")
    settings = Settings.from_env({**BASE, "MINYI_ENV": "production",
                                  "MINYI_DATA_KEY_FILE": str(tmp_path / "key")}, dotenv=False)
    assert settings.data_keys == (new, old)
    assert sealing.Keyring.of(settings.data_keys).primary == sealing.key_id(new)


@pytest.mark.parametrize("bad", ["not-a-key", "A" * 44 + ",", "x" * 40 + "===="])
def test_it_refuses_a_malformed_key(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a data key"):
        Settings.from_env({**BASE, "MINYI_INSTANCE": str(tmp_path), "MINYI_DATA_KEY": bad},
                          dotenv=False)


# -- the command line: a generated key, the canary, rotation --

@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str) -> str:
    for name in ("MINYI_ENV", "MINYI_DATA_KEY", "MINYI_DATA_KEY_FILE", "MINYI_ADMIN_USER",
                 "MINYI_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("dotenv.load_dotenv", lambda *a, **k: False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("MINYI_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("PUBLIC_URL", "https://minyi.example.test")
    return db_url


def _sessions(url: str) -> Session:
    return make_sessionmaker(make_engine(url))()


def test_it_generates_a_key_on_a_fresh_machine_and_keeps_it(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    key_file = tmp_path / "instance" / "data.key"
    assert "Data key generated" in out and str(key_file) in out
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()

    assert main(["init"]) == 0
    assert "Data key generated" not in capsys.readouterr().out
    assert key_file.read_text().strip() == key
    with _sessions(env) as s:
        canary = s.get(OfficeSetting, sealing.CANARY_KEY)
        assert canary is not None and sealing.sealed_by(canary.value["sealed"]) == sealing.key_id(key)


def test_it_refuses_to_start_with_a_wrong_key(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    right = sealing.new_key()
    monkeypatch.setenv("MINYI_DATA_KEY", right)
    assert main(["init", "--admin-user", "admin", "--admin-password", "correct horse battery"]) == 0
    capsys.readouterr()

    monkeypatch.setenv("MINYI_DATA_KEY", sealing.new_key())
    assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert "数据密钥不正确" in err and sealing.key_id(right) in err and "will not start" in err
    # Nothing was sealed with the wrong key: the canary still opens with the right one only.
    with _sessions(env) as s:
        canary = s.get(OfficeSetting, sealing.CANARY_KEY)
        assert canary is not None
        assert sealing.Keyring.of([right]).open(canary.value["sealed"]) == sealing.CANARY


def test_it_refuses_to_serve_without_any_key(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MINYI_DATA_KEY", sealing.new_key())
    assert main(["init", "--admin-user", "admin", "--admin-password", "correct horse battery"]) == 0
    monkeypatch.delenv("MINYI_DATA_KEY")
    capsys.readouterr()
    assert main(["serve"]) == 1
    assert "No data key" in capsys.readouterr().err


def _seed(url: str, key: str, count: int) -> None:
    sealing.install(sealing.Keyring.of([key]))
    with _sessions(url) as s:
        point = CollectionPoint(name="城关镇")
        s.add(point)
        s.flush()
        for n in range(count):
            _identify(s, contact=f"{NAME}{n} {PHONE}")


def _kids(url: str) -> set[str | None]:
    with _sessions(url) as s:
        return {sealing.sealed_by(v) for v in _raw(s)
                if v.startswith(sealing.PREFIX) or PHONE in v}


def _everything_reads(url: str, count: int) -> None:
    with _sessions(url) as s:
        contacts = sorted(s.scalars(sa.select(Report.contact)))
        assert contacts == sorted(f"{NAME}{n} {PHONE}" for n in range(count))
        for report in s.scalars(sa.select(Report)):
            assert sealing.open_json(report.answers["contact"]) == report.contact
            assert report.reporter.display_name == NAME


def test_it_finishes_an_interrupted_rotation_on_a_rerun(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = sealing.new_key(), sealing.new_key()
    monkeypatch.setenv("MINYI_DATA_KEY", old)
    assert main(["init", "--admin-user", "admin", "--admin-password", "correct horse battery"]) == 0
    _seed(env, old, 5)
    assert _kids(env) == {sealing.key_id(old)}

    monkeypatch.setenv("MINYI_DATA_KEY", f"{new},{old}")
    real = sealing.Keyring.reseal
    calls = {"n": 0}

    def failing(self: sealing.Keyring, value: str) -> str:
        calls["n"] += 1
        if calls["n"] > 7:
            raise RuntimeError("power cut")
        return real(self, value)

    monkeypatch.setattr(sealing.Keyring, "reseal", failing)
    with pytest.raises(RuntimeError, match="power cut"):
        main(["keys", "rotate", "--batch", "2"])
    # Half done: some values under the new key, some under the old, all of them readable.
    assert _kids(env) == {sealing.key_id(new), sealing.key_id(old)}
    sealing.install(sealing.Keyring.of([new, old]))
    _everything_reads(env, 5)

    monkeypatch.setattr(sealing.Keyring, "reseal", real)
    capsys.readouterr()
    assert main(["keys", "rotate", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "re-sealed with key " + sealing.key_id(new) in out and "remove the others" in out
    assert _kids(env) == {sealing.key_id(new)}

    # The old key can go: everything, the canary too, opens with the new one alone.
    monkeypatch.setenv("MINYI_DATA_KEY", new)
    assert main(["keys", "status"]) == 0
    status = capsys.readouterr().out
    assert "reporters.contact: 0 to re-seal" in status and "reports.answers: 0" in status
    sealing.install(sealing.Keyring.of([new]))
    _everything_reads(env, 5)


def test_it_seals_plain_text_an_older_version_stored_when_init_runs(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    migrate.upgrade(env, "0017")
    engine = make_engine(env)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO reporters (id, channel, external_id, chat_id, kind, display_name, contact, "
            "language, created_at, topics_opt_in) VALUES (1, 'telegram', 'u1', 'u1', 'citizen', "
            ":name, :phone, 'zh', CURRENT_TIMESTAMP, false)"), {"name": NAME, "phone": PHONE})
        conn.execute(sa.text(
            "INSERT INTO reports (id, tracking_no, category, title, situation, suggestion, urgency, "
            "anonymous, contact, answers, form, reporter_id, status, review_level, version, "
            "created_at, updated_at) VALUES (1, '2026-000001', 'livelihood', 't', 's', 'g', "
            "'normal', false, :phone, :answers, 'report', 1, 'submitted', 0, 1, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"), {"phone": PHONE, "answers": f'{{"contact": "{PHONE}"}}'})
        conn.execute(sa.text(
            "INSERT INTO conversations (id, channel, external_id, reporter_id, form, mode, answers, "
            "context, turn, updated_at) VALUES (1, 'telegram', 'u1', 1, 'report', 'filling', "
            ":answers, '{}', 3, CURRENT_TIMESTAMP)"), {"answers": f'{{"contact": "{PHONE}"}}'})
    engine.dispose()
    migrate.upgrade(env)
    with _sessions(env) as s:  # upgraded, not yet sealed: plain values read as they are
        assert s.get(Conversation, 1).answers == {"contact": PHONE}  # type: ignore[union-attr]
        assert s.get(Report, 1).contact == PHONE  # type: ignore[union-attr]

    key = sealing.new_key()
    monkeypatch.setenv("MINYI_DATA_KEY", key)
    assert main(["init", "--admin-user", "admin", "--admin-password", "correct horse battery"]) == 0
    assert "Encrypted 5 stored values" in capsys.readouterr().out
    with _sessions(env) as s:
        raw = _raw(s)
        assert raw and not any(PHONE in v or NAME in v for v in raw)
        report = s.get(Report, 1)
        assert report is not None and report.contact == PHONE
        assert report.reporter.display_name == NAME
        assert sealing.open_json(report.answers["contact"]) == PHONE
        assert s.get(Conversation, 1).answers == {"contact": PHONE}  # type: ignore[union-attr]
        assert PHONE not in s.scalar(sa.text("SELECT answers FROM conversations"))
    # Run again: nothing left to seal, nothing sealed twice.
    assert main(["init"]) == 0
    assert "Encrypted" not in capsys.readouterr().out
    with _sessions(env) as s:
        assert s.get(Report, 1).contact == PHONE  # type: ignore[union-attr]
    assert os.environ["MINYI_DATA_KEY"] == key
    assert rekey.places()[-2:] == [rekey.ANSWERS, rekey.DIGESTS]


def test_it_keeps_a_chats_draft_answers_sealed_until_and_after_filing(
    chat: Chat, session: Session, point_token: str
) -> None:
    chat.command("start", point_token)
    chat.fill_report(photo=False, contact=f"{NAME} {PHONE}")
    raw = session.scalar(sa.text("SELECT answers FROM conversations"))
    assert raw is not None and raw.startswith(sealing.PREFIX) and PHONE not in raw
    assert session.scalar(sa.select(Conversation)).answers["contact"] == f"{NAME} {PHONE}"

    chat.press("确认提交")
    session.rollback()
    assert not any(PHONE in v for v in _raw(session))
    assert session.scalar(sa.select(Report.contact)) == f"{NAME} {PHONE}"


def test_it_refuses_an_emptied_generated_key_file(tmp_path: Path) -> None:
    (tmp_path / "data.key").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        Settings.from_env({**BASE, "MINYI_INSTANCE": str(tmp_path)}, dotenv=False)
