"""Exactly-once intake under crashes (issue 15, point 2): a drill, not a speed test.

Simulated citizens fill the report form over Telegram (through the Bot API
emulator, `tests/botapi_emulator/`, which the real bot polls over HTTP, or
which posts each update to `minyi bot`'s webhook and posts it again until
answered 200, as Telegram does) and over the web chat (HTTP with cookies),
CONCURRENCY conversations at a time, each its own chat, while a killer thread
sends SIGKILL to the real processes at random moments and starts them again:
`minyi serve` on SQLite (polling), or `minyi web` + `minyi bot` (webhook) +
`minyi worker` on a fresh PostgreSQL database. Then every confirmed report is
adopted through the review code, and the worker delivers the feedback while
it is still being killed.

Where the wall time goes: a restart costs 2-6 s (Python imports, on a busy
machine), during which that process's clients wait; the server answers about
as many steps as 40 conversations with a person's thinking time ask for, so
more in flight only makes queues (and, for the polling bot, bigger batches
handled again after each kill).

Checked at the end:
- every receipt a client saw is exactly one report, and no report exists
  that no client saw a receipt for (except abandoned conversations);
- every stored answer is the one the client gave to that step (an input
  applied twice shows as an answer in the wrong step);
- every feedback message is delivered exactly once per chat, in the order written.

    python -m bench.crash_drill --conversations 1000 [--postgres URL]

Its modules, one job each: `processes` (the minyi processes, their
environment, the killer), `citizens` (what a client files, the player both
channels share), `telegram_player` and `web_player` (each channel's client),
`conversations` (all of them, CONCURRENCY at a time), `checks` (adoption, the
feedback awaited, the checks), `drill` (`run`, `Result`), `cli` (`rows` for
`python -m bench`, `main` for the command line).
"""

from bench.crash_drill.citizens import (
    ABANDON_SHARE,
    ANSWER_WITHIN,
    PATIENCE,
    RECEIPT,
    SECOND_REPORT_SHARE,
    THINK,
    Client,
    Filing,
    Player,
)
from bench.crash_drill.cli import main, rows
from bench.crash_drill.conversations import CONCURRENCY, Conversations
from bench.crash_drill.drill import Result, run
from bench.crash_drill.processes import ADMIN, ADMIN_PASSWORD, KILL_EVERY, ROOT, SETTINGS, Killer, Proc
from bench.crash_drill.telegram_player import TelegramPlayer
from bench.crash_drill.web_player import CSRF, WebPlayer

__all__ = ["ABANDON_SHARE", "ADMIN", "ADMIN_PASSWORD", "ANSWER_WITHIN", "CONCURRENCY", "CSRF",
           "KILL_EVERY", "PATIENCE", "RECEIPT", "ROOT", "SECOND_REPORT_SHARE", "SETTINGS", "THINK",
           "Client", "Conversations", "Filing", "Killer", "Player", "Proc", "Result", "TelegramPlayer",
           "WebPlayer", "main", "rows", "run"]
