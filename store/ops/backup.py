"""A whole instance in one file and back: the database and the uploaded files, with a manifest.

`backup(database_url, upload_dir, out)` writes a tar.gz holding
`manifest.json` (format, created_at, database kind, the schema's Alembic
revision, a SHA-256 of every member), the database -- SQLite copied with its
online backup API (`sqlite3.Connection.backup`, consistent while minyi runs),
PostgreSQL as `pg_dump`'s plain SQL of the one schema minyi uses -- and every
file under the upload folder as `uploads/<path>`. The database is copied
first: files are stored by content and only added, so every file the copied
rows name is in the archive.

`restore(archive, database_url, upload_dir)` checks every checksum before it
writes anything, refuses a backup made by a newer minyi (a schema revision
this code does not know) and a target that holds data (unless `force`), then
puts the database and the files back and upgrades an older schema to this
code's. A PostgreSQL backup may be restored into another schema (or
database) than it came from: the dump's statements are re-aimed at the
target schema, its data lines are left as they are.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from store import migrate
from store.db import make_engine
from store.errors import DomainError
from store.models import utcnow

FORMAT = 1
MANIFEST = "manifest.json"
UPLOADS = "uploads"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.sql"}


class BackupError(DomainError):
    """A backup cannot be made or restored; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    database: str  # sqlite | postgresql
    schema_revision: str | None
    database_file: str
    # Archive member name -> SHA-256, the database's file included.
    files: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise BackupError(f"the backup's manifest cannot be read ({exc}) / 备份清单无法读取") from None

    @property
    def uploads(self) -> list[str]:
        return sorted(name for name in self.files if name.startswith(f"{UPLOADS}/"))


def kind_of(database_url: str) -> str:
    name = sa.engine.make_url(database_url).get_backend_name()
    if name not in DUMPS:
        raise BackupError(f"backups are made of SQLite and PostgreSQL databases, not {name}")
    return name


# -- backup ---------------------------------------------------------------------


def backup(database_url: str, upload_dir: Path, out: Path, *, now: datetime | None = None) -> Manifest:
    """Write the database and the uploaded files to the tar.gz `out`; returns its manifest."""
    kind = kind_of(database_url)
    with tempfile.TemporaryDirectory(prefix="minyi-backup-") as tmp:
        dump = Path(tmp) / DUMPS[kind]
        if kind == "sqlite":
            revision = _copy_sqlite(database_url, dump)
        else:
            revision = _dump_postgres(database_url, dump)
        if revision is None:
            raise BackupError("the database has no schema revision: it was not set up with "
                              "`minyi init` (run it first) / 数据库尚未用 minyi init 初始化")
        uploads = sorted(p for p in upload_dir.rglob("*") if p.is_file()) if upload_dir.is_dir() else []
        members = {DUMPS[kind]: dump, **{
            f"{UPLOADS}/{p.relative_to(upload_dir).as_posix()}": p for p in uploads}}
        manifest = Manifest(
            created_at=(now or utcnow()).isoformat(timespec="seconds"), database=kind,
            schema_revision=revision, database_file=DUMPS[kind],
            files={name: _sha256(path) for name, path in members.items()})
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        with tarfile.open(partial, "w:gz") as tar:
            info = tarfile.TarInfo(MANIFEST)
            raw = manifest.to_json()
            info.size, info.mtime = len(raw), int(datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(raw))
            for name, path in members.items():
                tar.add(path, arcname=name, recursive=False)
        os.replace(partial, out)  # a cut-off run leaves no half archive under the real name
    return manifest


def _copy_sqlite(database_url: str, dest: Path) -> str | None:
    path = _sqlite_path(database_url)
    if not path.is_file():
        raise BackupError(f"there is no database at {path} / 数据库文件不存在")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)  # a consistent copy, also while others write
        return _sqlite_revision(target)
    finally:
        target.close()
        source.close()


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _dump_postgres(database_url: str, dest: Path) -> str | None:
    pg_dump = _tool("pg_dump")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            schema = conn.scalar(sa.text("SELECT current_schema()"))
            server = int(conn.scalar(sa.text("SHOW server_version_num")) or 0) // 10000
        revision = migrate.current(engine)
    finally:
        engine.dispose()
    client = _major(pg_dump)
    if client < server:
        raise BackupError(
            f"pg_dump is version {client} but the server runs PostgreSQL {server}: pg_dump cannot "
            f"dump a newer server. Install the version {server} client tools "
            f"(e.g. postgresql-client-{server}) / pg_dump 版本低于数据库服务器版本")
    url, env = _libpq(database_url)
    with dest.open("wb") as f:
        done = subprocess.run(
            [pg_dump, "--no-owner", "--no-privileges", "--format=plain", f"--schema={schema}",
             f"--dbname={url}"], stdout=f, stderr=subprocess.PIPE, env=env, check=False)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.decode(errors='replace').strip()}")
    dest.write_bytes(f"-- minyi schema: {schema}\n".encode() + dest.read_bytes())
    return revision


# -- restore --------------------------------------------------------------------


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            return Manifest.from_json(member.read())
    except (OSError, tarfile.TarError, KeyError) as exc:
        raise BackupError(f"{archive} is not a minyi backup ({exc}) / 不是 minyi 备份文件") from None


def restore(archive: Path, database_url: str, upload_dir: Path, *, force: bool = False) -> Manifest:
    """Put the backup `archive` into the database at `database_url` and `upload_dir`."""
    manifest = read_manifest(archive)
    kind = kind_of(database_url)
    if manifest.format != FORMAT:
        raise BackupError(f"this backup has format {manifest.format}; this minyi reads format {FORMAT}")
    if manifest.database != kind:
        raise BackupError(f"this is a {manifest.database} backup; restore it into a {manifest.database} "
                          f"database, not {kind} / 备份与目标数据库类型不同")
    _check_revision(manifest.schema_revision)
    with tempfile.TemporaryDirectory(prefix="minyi-restore-") as tmp:
        unpacked = _unpack(archive, manifest, Path(tmp))
        if not force:
            _check_empty(database_url, upload_dir)
        if kind == "sqlite":
            _restore_sqlite(unpacked / manifest.database_file, database_url)
        else:
            _restore_postgres(unpacked / manifest.database_file, database_url, replace=force)
        if upload_dir.exists() and force:
            shutil.rmtree(upload_dir)
        for name in manifest.uploads:
            target = upload_dir / PurePosixPath(name).relative_to(UPLOADS)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(unpacked / name, target)
    if manifest.schema_revision is not None and manifest.schema_revision != migrate.head():
        migrate.upgrade(database_url)  # an older backup, brought up to this code's schema
    return manifest


def _check_revision(revision: str | None) -> None:
    if revision is None:
        raise BackupError("this backup's database has no schema revision (it was not set up "
                          "with `minyi init`) / 备份中的数据库没有版本信息")
    scripts = ScriptDirectory.from_config(migrate._config())
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        raise BackupError(
            f"this backup comes from a newer minyi: its schema revision {revision} is unknown to this "
            f"code (which knows up to {migrate.head()}). Upgrade minyi, then restore "
            f"/ 备份来自更新版本的 minyi（数据库版本 {revision}），请先升级 minyi 再恢复")


def _unpack(archive: Path, manifest: Manifest, into: Path) -> Path:
    """Every member the manifest lists, checked against its checksum; nothing else."""
    seen: set[str] = set()
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            name = member.name
            if name == MANIFEST:
                continue
            if name not in manifest.files or not member.isfile() or not _safe(name):
                raise BackupError(f"the backup holds {name!r}, which its manifest does not list "
                                  "/ 备份内容与清单不符")
            source = tar.extractfile(member)
            assert source is not None
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with target.open("wb") as out:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != manifest.files[name]:
                raise BackupError(f"{name} in the backup is damaged (checksum differs) / 备份文件已损坏")
            seen.add(name)
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise BackupError(f"the backup lacks {', '.join(missing[:5])} / 备份文件不完整")
    return into


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and (
        name in DUMPS.values() or (path.parts[0] == UPLOADS and len(path.parts) > 1))


def _check_empty(database_url: str, upload_dir: Path) -> None:
    engine = make_engine(database_url)
    try:
        tables = sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    files = upload_dir.is_dir() and any(p.is_file() for p in upload_dir.rglob("*"))
    if tables or files:
        held = f"{len(tables)} tables" if tables else f"files in {upload_dir}"
        raise BackupError(f"the target already holds data ({held}); restore into an empty database "
                          "and upload folder, or add --force to replace them / 目标数据库或文件夹非空")


def _restore_sqlite(dump: Path, database_url: str) -> None:
    path = _sqlite_path(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    incoming = path.with_name(f".{path.name}.restoring")
    shutil.copyfile(dump, incoming)
    for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    os.replace(incoming, path)


def _restore_postgres(dump: Path, database_url: str, *, replace: bool) -> None:
    psql = _tool("psql")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            schema = conn.scalar(sa.text("SELECT current_schema()"))
            if schema is None:  # search_path names a schema that does not exist yet
                schema = conn.scalar(sa.text("SELECT current_setting('search_path')")).split(",")[0]
                schema = schema.strip().strip('"')
            if replace:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        engine.dispose()
    script = dump.with_suffix(".restore.sql")
    with dump.open(encoding="utf-8") as src, script.open("w", encoding="utf-8") as out:
        out.writelines(_reaimed(src, schema))
    url, env = _libpq(database_url)
    done = subprocess.run([psql, "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--single-transaction",
                           f"--dbname={url}", "--file", str(script)],
                          capture_output=True, env=env, check=False)
    if done.returncode != 0:
        raise BackupError(f"psql could not load the backup: {done.stderr.decode(errors='replace').strip()}")


def _reaimed(lines: Iterable[str], target: str) -> Iterator[str]:
    """The dump's lines with its schema's name replaced by `target` in statements; the rows
    inside COPY blocks, which are data, untouched."""
    lines = iter(lines)
    first = next(lines, "")
    found = re.match(r"-- minyi schema: (\S+)", first)
    if found is None:
        raise BackupError("the database dump in this backup was not made by minyi backup")
    source = found.group(1)
    name = re.compile(rf'(?<![\w"])(?:"{re.escape(source)}"|{re.escape(source)})\.')
    quoted = f'"{target}".'
    in_copy = False
    for line in lines:
        if in_copy:
            in_copy = line != "\\.\n"
            yield line
            continue
        if re.match(rf'CREATE SCHEMA (?:"{re.escape(source)}"|{re.escape(source)});', line):
            continue  # the target schema exists already
        yield name.sub(quoted, line)
        in_copy = line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;")


# -- helpers --------------------------------------------------------------------


def _sqlite_path(database_url: str) -> Path:
    database = sa.engine.make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed; PostgreSQL backups need the PostgreSQL client "
                          f"tools (e.g. the postgresql-client package) / 未安装 {name}")
    return found


def _major(tool: str) -> int:
    out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(found.group(1)) if found else 0


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq takes it, its password moved to the environment (not the process list)."""
    url = sa.engine.make_url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env
