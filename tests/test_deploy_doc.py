"""docs/DEPLOY.md against the real command: every `ExecStart=` line and every `minyi ...` line
parses with `minyi`'s own parser, each command it names has a --help, and its settings file is
one `Settings.from_env` accepts, with the values it says."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from minyi.cli import build_parser
from minyi.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", DOC, re.S)
# systemd's instance name in a template unit (minyi-bot@8081 -> %i = 8081).
SPECIFIERS = {"%i": "8081"}


def _command_lines() -> list[list[str]]:
    """minyi's arguments on each command line of the document."""
    found = []
    for _, body in BLOCKS:
        for line in body.splitlines():
            line = line.strip()
            if line.startswith("ExecStart="):
                line = line[len("ExecStart="):]
            for spec, value in SPECIFIERS.items():
                line = line.replace(spec, value)
            if not line or line.startswith("#"):
                continue
            words = shlex.split(line)
            if words and (words[0] == "minyi" or words[0].endswith("/bin/minyi")):
                found.append(words[1:])
    return found


COMMANDS = _command_lines()


def test_it_finds_the_units_and_the_commands() -> None:
    names = [words[0] for words in COMMANDS if words and not words[0].startswith("-")]
    assert {"web", "bot", "worker", "init", "point"} <= set(names)
    assert DOC.count("ExecStart=") == 3


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(w) or "minyi" for w in COMMANDS])
def test_it_parses_each_command_line_as_minyi_does(words: list[str]) -> None:
    if words == ["--help"]:
        with pytest.raises(SystemExit) as done:
            build_parser().parse_args(words)
        assert done.value.code == 0
        return
    args = build_parser().parse_args(words)  # an unknown option or command exits here

    assert callable(args.handler)
    if args.command == "web":
        assert (args.bind, args.workers, args.threads) == ("127.0.0.1:8000", 4, 4)
    if args.command == "bot":
        assert args.port == 8081


@pytest.mark.parametrize("command", sorted({w[0] for w in COMMANDS if w and w[0] != "--help"}))
def test_it_has_help_for_each_command_named(command: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])

    assert done.value.code == 0
    assert f"usage: minyi {command}" in capsys.readouterr().out


def test_it_reads_the_settings_file_as_written(tmp_path: Path) -> None:
    [env_block] = [body for _, body in BLOCKS if body.lstrip().startswith("MINYI_ENV=")]
    secrets = {"/etc/minyi/secret_key": "s" * 48,
               "/etc/minyi/data_key": Fernet.generate_key().decode(),
               "/etc/minyi/telegram_token": "123456:deploy-doc-token",
               "/etc/minyi/telegram_webhook_secret": "deploy-doc-secret_123"}
    env: dict[str, str] = {}
    for line in env_block.strip().splitlines():
        name, value = line.split("=", 1)
        if value in secrets:  # the files the document names, written here
            path = tmp_path / Path(value).name
            path.write_text(secrets[value], encoding="utf-8")
            value = str(path)
        env[name] = value

    settings = Settings.from_env(env, dotenv=False)

    assert settings.is_production
    assert settings.database_url.startswith("postgresql+psycopg://minyi:")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert (settings.web_workers, settings.web_threads, settings.trusted_proxies) == (4, 4, 1)
    assert settings.telegram_bot_token == "123456:deploy-doc-token"
    assert settings.telegram_webhook_url == "https://minyi.example.gov.cn/telegram/webhook"
    assert settings.telegram_webhook_secret == "deploy-doc-secret_123"
    assert settings.data_keys and settings.secret_key == "s" * 48


def test_it_points_nginx_at_the_ports_the_units_listen_on() -> None:
    [nginx] = [body for kind, body in BLOCKS if kind == "nginx"]
    assert "server 127.0.0.1:8000;" in nginx  # minyi web --bind 127.0.0.1:8000
    for port in re.findall(r"minyi-bot@(\d+)", DOC):
        assert f"server 127.0.0.1:{port};" in nginx
    assert "location /telegram/webhook" in nginx  # bot.channels.telegram.webhook.PATH
