"""The one list of chat commands: Telegram's menu, the web chat's menu and the help text read it.

Which mode a command moves where is `store.conversation.modes.TABLE`
("/name"); this list says what a command is called and shown as. A command
with a `button` is also a standing menu button (`~name:`), for channels where
people press rather than type (the web chat, WeChat's numbered options).
"""

from __future__ import annotations

from dataclasses import dataclass

from store.models import Channel

EVERY_CHANNEL = frozenset(Channel)


@dataclass(frozen=True)
class Command:
    name: str  # typed as /name; Telegram allows [a-z0-9_]{1,32}
    zh: str
    en: str
    # What follows the name, as the help text shows it ("/bind 绑定码").
    usage_zh: str = ""
    usage_en: str = ""
    # Shown in Telegram's command menu and listed in the help text.
    menu: bool = True
    # Message key of the label when it is also a standing menu button.
    button: str | None = None
    # Where it can be typed (a menu click on WeChat arrives as one).
    channels: frozenset[Channel] = EVERY_CHANNEL

    def description(self, lang: str) -> str:
        """The menu's line for it: its description, and what to type after it."""
        usage = self.usage_en if lang == "en" else self.usage_zh
        text = self.en if lang == "en" else self.zh
        if not usage:
            return text
        return f"{text} (/{self.name} {usage})" if lang == "en" else f"{text}（/{self.name} {usage}）"

    def help_line(self, lang: str) -> str:
        usage = self.usage_en if lang == "en" else self.usage_zh
        text = self.en if lang == "en" else self.zh
        return f"/{self.name}{' ' + usage if usage else ''} {text}"


# In the order Telegram's menu and the help text show them.
COMMANDS: tuple[Command, ...] = (
    Command("new", "反映一条新信息", "Report something new", button="btn.report"),
    Command("my", "我反映的信息及办理进度", "My reports and where they stand", button="btn.my"),
    Command("back", "返回上一步", "Previous question"),
    Command("cancel", "取消正在填写的信息", "Discard the report in progress"),
    Command("topics", "正在征集的选题", "Open topic calls"),
    Command("subscribe", "订阅选题通知", "Get new topic calls"),
    Command("unsubscribe", "退订选题通知", "Stop topic call messages"),
    Command("bind", "委员、信息员绑定身份", "Members and informants", "绑定码", "CODE"),
    Command("mystats", "我的信息统计", "My figures"),
    Command("lang", "切换语言（中文 / English）", "Switch language (中文 / English)", "zh|en", "zh|en"),
    Command("help", "帮助", "Help"),
    Command("start", "开始", "Start"),
    # Staff tie a chat to their console account with a one-time code; a channel
    # whose capabilities take no staff links answers it with where they can.
    # 通报: a member's monthly figures (store.outputs.bulletin); named in the message itself.
    Command("nobulletin", "不再接收通报", "Stop bulletin messages", menu=False),
    Command("bulletin", "恢复接收通报", "Get bulletin messages again", menu=False),
    Command("link", "工作人员绑定账号", "Staff: link this chat", "绑定码", "CODE", menu=False),
)
BY_NAME = {c.name: c for c in COMMANDS}


def menu(channel: Channel) -> list[Command]:
    """The commands a channel's menu shows, in order."""
    return [c for c in COMMANDS if c.menu and channel in c.channels]


def accepted(channel: Channel) -> frozenset[str]:
    """The command names a channel passes to the engine (anything else is answered with help)."""
    return frozenset(c.name for c in COMMANDS if channel in c.channels)


def buttons() -> list[Command]:
    """The standing menu buttons, in order."""
    return [c for c in COMMANDS if c.button]


def help_text(lang: str, channel: Channel = Channel.TELEGRAM) -> str:
    head = "Commands:" if lang == "en" else "可用指令："
    return "\n".join([head, *(c.help_line(lang) for c in menu(channel))])
