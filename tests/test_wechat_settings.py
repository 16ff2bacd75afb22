"""The WECHAT_* settings: all of id, secret and token or none (the channel off), checked loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from minyi.settings import WECHAT_API_BASE, ConfigError, Settings
from tests.wechat_emulator import AES_KEY

FULL = {"WECHAT_APP_ID": "wx5f2c0a9d3e1b7c64", "WECHAT_APP_SECRET": "0123456789abcdef0123456789abcdef",
        "WECHAT_TOKEN": "minyiToken42"}


def test_it_leaves_the_channel_off_without_wechat_settings() -> None:
    s = Settings.from_env({})

    assert not s.wechat_enabled
    assert (s.wechat_app_id, s.wechat_aes_key, s.wechat_template_id) == (None, None, None)
    assert s.wechat_api_base == WECHAT_API_BASE


def test_it_turns_the_channel_on_with_id_secret_and_token() -> None:
    s = Settings.from_env({**FULL, "WECHAT_AES_KEY": AES_KEY, "WECHAT_TEMPLATE_ID": "tpl-1",
                           "WECHAT_API_BASE": "http://10.0.0.5:8080/wx/"})

    assert s.wechat_enabled
    assert s.wechat_app_id == "wx5f2c0a9d3e1b7c64" and s.wechat_token == "minyiToken42"
    assert s.wechat_aes_key == AES_KEY and s.wechat_template_id == "tpl-1"
    assert s.wechat_api_base == "http://10.0.0.5:8080/wx"


def test_it_reads_every_wechat_secret_from_a_file(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    for name, value in {**FULL, "WECHAT_AES_KEY": AES_KEY, "WECHAT_TEMPLATE_ID": "tpl-9",
                        "WECHAT_API_BASE": "https://gw.example.gov.cn"}.items():
        path = tmp_path / name.lower()
        path.write_text(value + "\n", encoding="utf-8")
        env[f"{name}_FILE"] = str(path)

    s = Settings.from_env(env)

    assert s.wechat_enabled
    assert s.wechat_app_secret == FULL["WECHAT_APP_SECRET"]
    assert (s.wechat_aes_key, s.wechat_template_id) == (AES_KEY, "tpl-9")
    assert s.wechat_api_base == "https://gw.example.gov.cn"


@pytest.mark.parametrize("missing", sorted(FULL))
def test_it_refuses_half_a_configuration_and_names_what_is_missing(missing: str) -> None:
    env = {k: v for k, v in FULL.items() if k != missing}

    with pytest.raises(ConfigError) as exc:
        Settings.from_env(env)

    assert f"but {missing} is not" in str(exc.value)


def test_it_refuses_an_aes_key_alone() -> None:
    with pytest.raises(ConfigError, match="WECHAT_AES_KEY is set but WECHAT_APP_ID, "
                                          "WECHAT_APP_SECRET, WECHAT_TOKEN are not"):
        Settings.from_env({"WECHAT_AES_KEY": AES_KEY})


@pytest.mark.parametrize("key", [AES_KEY[:42], AES_KEY + "A", AES_KEY[:40] + "abc="])
def test_it_refuses_an_aes_key_of_the_wrong_length(key: str) -> None:
    with pytest.raises(ConfigError, match="exactly 43 characters"):
        Settings.from_env({**FULL, "WECHAT_AES_KEY": key})


def test_it_refuses_an_aes_key_that_is_not_base64() -> None:
    with pytest.raises(ConfigError, match="not a valid EncodingAESKey"):
        Settings.from_env({**FULL, "WECHAT_AES_KEY": AES_KEY[:40] + "!@#"})


@pytest.mark.parametrize("token", ["ab", "x" * 33, "has space", "中文令牌令牌"])
def test_it_refuses_a_token_wechat_would_not_accept(token: str) -> None:
    with pytest.raises(ConfigError, match="WECHAT_TOKEN must be 3 to 32 letters or digits"):
        Settings.from_env({**FULL, "WECHAT_TOKEN": token})


def test_it_refuses_an_api_base_that_is_not_a_url() -> None:
    with pytest.raises(ConfigError, match="WECHAT_API_BASE must be an http"):
        Settings.from_env({**FULL, "WECHAT_API_BASE": "api.internal:8080"})
