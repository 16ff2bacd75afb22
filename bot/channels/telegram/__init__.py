"""The Telegram channel: long polling in (`app`, `handlers`, `translate`), the Bot API out
(`sender`, `channel`). The only folder that imports `telegram`."""
