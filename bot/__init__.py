"""The Telegram adapter: turns updates into `Inbound`, renders `Reply` (python-telegram-bot 22)."""
