"""A local Telegram Bot API, served over real HTTP on 127.0.0.1 for tests.

The bot under test talks to it exactly as it would talk to Telegram
(`base_url=emu.base_url`, `base_file_url=emu.base_file_url`); the test plays
the users (`user_sends_text`, `user_presses` ...) and reads what the bot sent
(`sent_to`). Faults can be injected (`fail_next`), and every accepted send is
time-stamped so a test can check Telegram's flood limits (`rate_violations`).
With `enforce_limits` it answers a send that breaks them 429 as Telegram does
(each one listed in `throttled`); with `latency` it answers every call that
many seconds after it arrived, as a round trip to Telegram's servers takes,
and records how many sends were in flight at once (`most_at_once`).

Shapes follow the Bot API objects python-telegram-bot parses: Update,
Message, CallbackQuery, PhotoSize, Document, File, User, Chat.

Its modules, one job each: `wire` (the objects, answers and constants),
`server` (HTTP in and out), `state` (what it holds, what the bot did),
`users` (the test's side), `api` (the methods), `limits` (flood limits),
`faults` (fault injection), `webhook` (posting updates to a webhook),
`emulator` (`BotAPIEmulator` and its lifecycle), `running` (`RunningBot`).
"""

from tests.botapi_emulator.emulator import BotAPIEmulator
from tests.botapi_emulator.limits import GLOBAL_RATE, PER_CHAT_INTERVAL
from tests.botapi_emulator.running import BackgroundLoop, RunningBot
from tests.botapi_emulator.wire import (
    BOT_ID,
    DOWNLOAD_LIMIT,
    JSON,
    SEND_METHODS,
    TEXT_LIMIT,
    TOKEN,
    Sent,
)

__all__ = ["BotAPIEmulator", "BackgroundLoop", "RunningBot", "Sent", "TOKEN", "BOT_ID", "DOWNLOAD_LIMIT",
           "TEXT_LIMIT", "PER_CHAT_INTERVAL", "GLOBAL_RATE", "SEND_METHODS", "JSON"]
