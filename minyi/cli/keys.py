"""`minyi keys`: the data key that seals reporters' details (new, status, rotate).

Rotation: put the new key first and keep the old one after it, comma-separated
(MINYI_DATA_KEY="NEW,OLD"), restart, run `minyi keys rotate`, then drop OLD.
Each batch commits on its own: an interrupted rotation leaves every value
sealed by NEW or OLD (both still configured), and running it again finishes.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from sqlalchemy.orm import Session, sessionmaker

from minyi.cli.common import Subcommands, open_data_keys, require_schema, sessions
from minyi.settings import Settings
from store import rekey, sealing


def register(sub: Subcommands) -> None:
    p = sub.add_parser("keys", help="the data key: new, status, rotate")
    keys = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys.add_parser("new", help="print a fresh data key").set_defaults(handler=cmd_new)
    keys.add_parser("status", help="how many values each place still holds under another key"
                    ).set_defaults(handler=cmd_status)
    rotate = keys.add_parser("rotate", help="re-seal every value with the first MINYI_DATA_KEY")
    rotate.add_argument("--batch", type=int, default=200, help="rows per transaction")
    rotate.set_defaults(handler=cmd_rotate)


def cmd_new(settings: Settings, args: argparse.Namespace) -> None:
    print(sealing.new_key())


def cmd_status(settings: Settings, args: argparse.Namespace) -> None:
    engine, Session = sessions(settings)  # noqa: N806
    try:
        require_schema(engine)
        keyring = open_data_keys(settings, engine)
        with Session() as s:
            print(f"primary key / 当前密钥: {keyring.primary}")
            for place in rekey.places():
                print(f"  {place}: {rekey.pending(s, place)} to re-seal / 待重新加密")
    finally:
        engine.dispose()


def cmd_rotate(settings: Settings, args: argparse.Namespace) -> None:
    engine, Session = sessions(settings)  # noqa: N806
    try:
        require_schema(engine)
        keyring = open_data_keys(settings, engine)
        total = reseal_all(Session, batch=args.batch)
        print(f"{total} values re-sealed with key {keyring.primary} / 已用新密钥重新加密 {total} 项")
        if len(keyring.keys) > 1:
            print("Every value now opens with the first key alone: remove the others from "
                  "MINYI_DATA_KEY and restart. / 全部数据已用第一个密钥加密，可从 MINYI_DATA_KEY "
                  "中删去旧密钥后重启。")
    finally:
        engine.dispose()


def reseal_all(Session: sessionmaker[Session], *, batch: int = 200,  # noqa: N803
               out: TextIO = sys.stdout) -> int:
    """Seal every value not under the primary key, one transaction per batch; the count."""
    total = 0
    for place in rekey.places():
        after, more = 0, True
        while more:
            with Session() as s, s.begin():
                done = rekey.reseal_batch(s, place, after=after, size=batch)
            total, after, more = total + done.done, done.last, done.more
            if done.done:
                out.write(f"  {place}: {done.done}\n")
    with Session() as s, s.begin():
        rekey.reseal_canary(s)
    return total
