"""`minyi backup` / `minyi restore`: a round trip keeps every row and every file, on SQLite and
PostgreSQL; a restore refuses a newer schema, a damaged archive and (without --force) a target
that holds data."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from minyi.cli import main
from store import migrate
from store.models import Report
from store.ops import backup as backups
from tests.conftest import PG_URL, _pg
from tests.domain_support import make_report


@pytest.fixture
def migrated(db_url: str) -> str:
    """The test database, set up as `minyi init` does (with its Alembic revision)."""
    migrate.upgrade(db_url)
    return db_url


@pytest.fixture
def target(db_backend: str, tmp_path: Path):
    """An empty second database of the same kind to restore into."""
    if db_backend == "sqlite":
        (tmp_path / "restored").mkdir()
        yield f"sqlite:///{tmp_path / 'restored' / 'minyi.sqlite3'}"
        return
    assert PG_URL
    if shutil.which("pg_dump") is None or shutil.which("psql") is None:
        pytest.skip("PostgreSQL backups need pg_dump and psql, which are not installed here")
    schema = f"r_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_pg(PG_URL))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    yield f"{_pg(PG_URL)}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()


def every_row(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    try:
        out = {}
        with engine.connect() as conn:
            for table in sa.inspect(engine).get_table_names():
                rows = conn.exec_driver_sql(f'SELECT * FROM "{table}"').all()
                out[table] = sorted(tuple(repr(v) for v in row) for row in rows)
        return out
    finally:
        engine.dispose()


def every_file(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def filled(migrated, session, chat, point_token, settings):
    """Reports from the chat (with a photo, so a file is uploaded) and from the console's side."""
    chat.command("start", point_token)
    chat.fill_report()
    chat.press("确认提交")
    make_report(session, external_id="77", title="城关镇菜市场排水不畅")
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 2
    assert every_file(settings.upload_dir)
    return settings


def test_it_restores_every_row_and_every_file(filled, target, tmp_path):
    archive = tmp_path / "b.tar.gz"
    made = backups.backup(filled.database_url, filled.upload_dir, archive)
    uploads = tmp_path / "restored-uploads"

    restored = backups.restore(archive, target, uploads)

    assert made == restored
    assert made.schema_revision == migrate.head()
    assert made.database == sa.engine.make_url(target).get_backend_name()
    assert len(made.uploads) == len(every_file(filled.upload_dir)) >= 1
    before, after = every_row(filled.database_url), every_row(target)
    assert set(before) == set(after) and "reports" in after and "alembic_version" in after
    for table in before:
        assert before[table] == after[table], table
    assert every_file(uploads) == every_file(filled.upload_dir)


def test_it_writes_a_manifest_with_checksums(filled, tmp_path):
    archive = tmp_path / "b.tar.gz"
    backups.backup(filled.database_url, filled.upload_dir, archive)

    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        names = set(tar.getnames())
    assert names == {"manifest.json", *manifest["files"]}
    assert manifest["created_at"] and manifest["format"] == 1
    photo = next(n for n in manifest["files"] if n.startswith("uploads/"))
    assert manifest["files"][photo] == hashlib.sha256(
        (filled.upload_dir / photo.removeprefix("uploads/")).read_bytes()).hexdigest()


def test_it_refuses_a_target_with_data_unless_forced(filled, target, tmp_path):
    archive = tmp_path / "b.tar.gz"
    backups.backup(filled.database_url, filled.upload_dir, archive)
    uploads = tmp_path / "restored-uploads"
    backups.restore(archive, target, uploads)
    engine = sa.create_engine(target)
    with engine.begin() as conn:
        conn.execute(sa.update(Report).values(title="改过的标题"))
    (uploads / "stray.bin").write_bytes(b"x")

    with pytest.raises(backups.BackupError, match="already holds data"):
        backups.restore(archive, target, uploads)
    with engine.connect() as conn:
        assert set(conn.scalars(sa.select(Report.title))) == {"改过的标题"}

    backups.restore(archive, target, uploads, force=True)
    engine.dispose()
    assert every_row(target) == every_row(filled.database_url)
    assert every_file(uploads) == every_file(filled.upload_dir)


def _rewritten(archive: Path, out: Path, **manifest_changes) -> Path:
    with tarfile.open(archive) as src, tarfile.open(out, "w:gz") as dst:
        for member in src:
            data = src.extractfile(member).read()
            if member.name == "manifest.json":
                data = json.dumps({**json.loads(data), **manifest_changes}).encode()
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out


def test_it_refuses_a_backup_from_a_newer_schema(filled, target, tmp_path):
    archive = tmp_path / "b.tar.gz"
    backups.backup(filled.database_url, filled.upload_dir, archive)
    newer = _rewritten(archive, tmp_path / "newer.tar.gz", schema_revision="9999")
    uploads = tmp_path / "restored-uploads"

    with pytest.raises(backups.BackupError, match="newer minyi.*9999") as refused:
        backups.restore(newer, target, uploads)

    assert migrate.head() in str(refused.value)
    assert every_row(target) == {} and not uploads.exists()


def test_it_refuses_a_damaged_archive_and_writes_nothing(filled, target, tmp_path):
    archive = tmp_path / "b.tar.gz"
    made = backups.backup(filled.database_url, filled.upload_dir, archive)
    photo = made.uploads[0]
    damaged = _rewritten(archive, tmp_path / "damaged.tar.gz",
                         files={**made.files, photo: "0" * 64})
    uploads = tmp_path / "restored-uploads"

    with pytest.raises(backups.BackupError, match="damaged"):
        backups.restore(damaged, target, uploads)

    assert every_row(target) == {} and not uploads.exists()


def test_it_backs_up_and_restores_from_the_command_line(filled, tmp_path, monkeypatch, capsys, db_backend):
    if db_backend != "sqlite":
        pytest.skip("the command line is the same on PostgreSQL; the round trip above covers it")
    monkeypatch.setenv("DATABASE_URL", filled.database_url)
    monkeypatch.setenv("MINYI_INSTANCE", str(filled.instance_dir))
    archive = tmp_path / "cli.tar.gz"

    assert main(["backup", "-o", str(archive)]) == 0
    assert "uploaded files" in capsys.readouterr().out

    fresh = tmp_path / "fresh"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{fresh / 'minyi.sqlite3'}")
    monkeypatch.setenv("MINYI_INSTANCE", str(fresh))
    assert main(["restore", str(archive)]) == 0
    assert every_row(f"sqlite:///{fresh / 'minyi.sqlite3'}") == every_row(filled.database_url)
    assert main(["restore", str(archive)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["restore", str(archive), "--force"]) == 0


def test_it_says_when_pg_dump_is_older_than_the_server(migrated, db_backend, tmp_path, monkeypatch):
    if db_backend != "postgresql":
        pytest.skip("pg_dump is used on PostgreSQL only")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed here")
    monkeypatch.setattr(backups, "_major", lambda tool: 9)

    with pytest.raises(backups.BackupError, match="pg_dump is version 9 but the server runs PostgreSQL"):
        backups.backup(migrated, tmp_path / "up", tmp_path / "b.tar.gz")
    assert not (tmp_path / "b.tar.gz").exists()


def test_it_aims_a_dump_at_another_schema_but_leaves_the_data_alone():
    dump = ["-- minyi schema: t_src\n", "CREATE SCHEMA t_src;\n", "CREATE TABLE t_src.notes (t text);\n",
            "COPY t_src.notes (t) FROM stdin;\n", "see t_src.notes\n", "\\.\n",
            "SELECT pg_catalog.setval('t_src.notes_id_seq', 1, true);\n"]

    out = list(backups._reaimed(dump, "t_dst"))

    assert out == ['CREATE TABLE "t_dst".notes (t text);\n', 'COPY "t_dst".notes (t) FROM stdin;\n',
                   "see t_src.notes\n", "\\.\n",
                   "SELECT pg_catalog.setval('\"t_dst\".notes_id_seq', 1, true);\n"]


def test_it_refuses_to_back_up_a_database_not_set_up_by_init(db_engine, db_url, tmp_path):
    with pytest.raises(backups.BackupError, match="minyi init"):
        backups.backup(db_url, tmp_path / "uploads", tmp_path / "b.tar.gz")
    assert not (tmp_path / "b.tar.gz").exists()
