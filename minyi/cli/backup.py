"""`minyi backup [-o FILE]` and `minyi restore FILE [--force]`: the database and uploaded files."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from minyi.cli.common import Subcommands
from minyi.settings import Settings
from store.ops import backup as backups


def register(sub: Subcommands) -> None:
    p = sub.add_parser("backup", help="the database and uploaded files in one .tar.gz")
    p.add_argument("-o", "--output", type=Path,
                   help="archive to write (default: minyi-backup-<date>-<time>.tar.gz here)")
    p.set_defaults(handler=cmd_backup)
    r = sub.add_parser("restore", help="put a backup into an empty database and upload folder")
    r.add_argument("archive", type=Path, help="a file written by `minyi backup`")
    r.add_argument("--force", action="store_true",
                   help="replace what the database and the upload folder hold now")
    r.set_defaults(handler=cmd_restore)


def cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    out = args.output or Path(f"minyi-backup-{datetime.now():%Y%m%d-%H%M%S}.tar.gz")
    manifest = backups.backup(settings.database_url, settings.upload_dir, out)
    print(f"Backup written / 备份已写入: {out}")
    print(f"  {manifest.database}, schema {manifest.schema_revision}, "
          f"{len(manifest.uploads)} uploaded files / 个上传文件")


def cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    manifest = backups.restore(args.archive, settings.database_url, settings.upload_dir,
                               force=args.force)
    print(f"Restored / 已恢复: backup of {manifest.created_at} ({manifest.database}, "
          f"schema {manifest.schema_revision}), {len(manifest.uploads)} uploaded files / 个上传文件")
