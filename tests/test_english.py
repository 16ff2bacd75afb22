"""The console in English (issue 14): every page, for an account set to English, has no Chinese words
of its own, and the choice is the account's (我的账号), else the browser's.

The walk is the accessibility test's: every GET route of the url_map, its parameters
filled from the same seeded office, as an administrator, a clerk, a department and a
visitor. What may stay Chinese on an English page is the office's own data, and the
rule for it is mechanical: a run of Chinese characters on the page is data when it
occurs in some value stored in the database (report titles and texts, unit and point
names, notes, the chat's messages, audit details ...), and an element marked with a
non-English `lang` attribute (the language switch's "中文") is not interface text. Any
other run of Chinese ideographs, in text or in an attribute a person reads (title,
placeholder, aria-label, alt, data-label, a button's value), is a string the catalogue
lacks. Runs of punctuation alone are not counted.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from minyi.settings import Settings
from store.models import Base, Channel, Reporter, Role, SavedView, User
from tests.conftest import Network, staff
from tests.test_accessibility import EXTRA_PATHS, NOT_PAGES, _page_paths, _seed, _values
from tests.web_support import csrf, login, post_page

CATALOGUE = Path(__file__).resolve().parent.parent / "web" / "translations" / "en" / "LC_MESSAGES"
IDEOGRAPHS = re.compile(r"[\u3400-\u9fff]")
RUN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
PUNCTUATION = "".join(chr(c) for c in [*range(0x3000, 0x3040), *range(0xFF00, 0xFFF0)])
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "data-label"}

# Pages not yet in English, each named; this list only shrinks.
NOT_YET_ENGLISH: dict[str, str] = {}


class Interface(HTMLParser):
    """The text a person reads on a page, without scripts, styles and elements in another language."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.texts: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang")
        other = tag in ("script", "style") or (tag != "html" and lang is not None
                                                and not lang.startswith("en"))
        if not self._skipping() and not other:
            self.texts += [v for k, v in attrs if v and k in READ_ATTRIBUTES]
            if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
                self.texts.append(values["value"] or "")
        if tag not in self.VOID:
            self.stack.append((tag, other))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if not self._skipping():
            self.texts.append(data)


def stored_words(session: Session) -> str:
    """Every string the database holds (as the application reads it), one per line."""
    found: list[str] = []

    def take(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                take(k)
                take(v)
        elif isinstance(value, list | tuple):
            for v in value:
                take(v)

    session.expire_all()
    for mapper in Base.registry.mappers:
        columns = [c.key for c in mapper.column_attrs]
        for row in session.scalars(select(mapper.class_)):
            for key in columns:
                take(getattr(row, key))
    return "\n".join(found)


def untranslated(html: str, data: str) -> list[str]:
    parser = Interface()
    parser.feed(html)
    runs = {run.strip(PUNCTUATION) for text in parser.texts for run in RUN.findall(text)}
    return sorted(run for run in runs if IDEOGRAPHS.search(run) and run not in data)


def _english(session: Session, *users: User) -> None:
    for user in users:
        user.language = "en"
    session.commit()


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the pages are the same on PostgreSQL: checked once, on SQLite")


@pytest.mark.parametrize("persona", ["visitor", "admin", "clerk", "department"])
def test_it_shows_every_console_page_in_english_to_an_account_set_to_english(
    persona: str, app: Flask, session: Session, settings: Settings, admin: User, clerk: User,
    network: Network,
) -> None:
    seeded = _seed(session, settings, admin, clerk, network)
    dora = staff(session, "dora", Role.DEPARTMENT, network.roads)
    _english(session, admin, clerk, dora)
    # The details page speaks its reporter's language, not the browser's: this one chose English.
    seeded.counter.reporter.language = "en"
    session.commit()
    paths = _page_paths(app, _values(seeded)) + [("", p) for p in EXTRA_PATHS]
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    username = {"admin": "alice", "clerk": "carol", "department": "dora"}.get(persona)
    if username:
        assert login(client, username).status_code == 302
    data = stored_words(session)

    problems: dict[str, list[str]] = {}
    pages = 0
    for endpoint, path in paths:
        resp = client.get(path, follow_redirects=True)
        if "text/html" not in resp.content_type:
            continue
        pages += 1
        words = untranslated(resp.get_data(as_text=True), data)
        if words and endpoint not in NOT_YET_ENGLISH:
            problems[f"{path} ({endpoint or 'extra'})"] = words
    assert pages > 10
    assert not problems, "Chinese interface text on English pages:\n" + "\n".join(
        f"{where}: {' | '.join(words)}" for where, words in problems.items())


def test_it_lists_only_pages_that_exist_as_not_yet_english(app: Flask) -> None:
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert set(NOT_YET_ENGLISH) <= endpoints
    assert not set(NOT_YET_ENGLISH) & set(NOT_PAGES)


def test_it_finds_chinese_interface_text_the_catalogue_lacks() -> None:
    page = ('<html lang="en"><body><h1>Inbox</h1><p title="筛选">城关镇 路灯 <b>待初审</b></p>'
            '<label lang="zh-CN">中文</label><script>var a = "脚本";</script></body></html>')
    assert untranslated(page, "城关镇人民路路灯") == ["待初审", "筛选"]


def test_it_switches_the_console_language_on_my_account_and_keeps_it(
    app: Flask, session: Session, admin: User,
) -> None:
    client = app.test_client()
    login(client, "alice")
    assert "信息收件箱" in client.get("/reports").get_data(as_text=True)

    page = post_page(client, "/account/language", language="en")
    assert "Language saved." in page and '<html lang="en">' in page
    session.expire_all()
    assert session.get(User, admin.id).language == "en"  # type: ignore[union-attr]
    inbox = client.get("/reports", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Inbox" in inbox and "信息收件箱" not in inbox  # the account's choice beats the browser's

    resp = client.post("/account/language", data={"language": "fr", "csrf_token": csrf(client, "/reports")},
                       follow_redirects=True)
    assert "Choose 中文 or English." in resp.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, admin.id).language == "en"  # type: ignore[union-attr]

    page = post_page(client, "/account/language", language="zh")
    assert "界面语言已保存。" in page and "信息收件箱" in page


def test_it_follows_the_browser_before_anyone_logs_in(app: Flask) -> None:
    client = app.test_client()
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"}).get_data(as_text=True)
    assert "Staff login" in english and '<html lang="en">' in english
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert "工作人员登录" in chinese and '<html lang="zh-CN">' in chinese
    assert "工作人员登录" in client.get("/login").get_data(as_text=True)  # Chinese by default


def test_it_shows_a_store_refusal_and_an_error_page_in_english(
    app: Flask, session: Session, admin: User,
) -> None:
    _english(session, admin)
    client = app.test_client()
    login(client, "alice")
    missing = client.get("/reports/999999")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    page = post_page(client, "/search/views", name="")
    assert "Give the view a name." in page


def test_it_ships_a_compiled_catalogue_that_matches_the_po() -> None:
    with (CATALOGUE / "messages.po").open("rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    with (CATALOGUE / "messages.mo").open("rb") as f:
        mo = {m.id: m.string for m in read_mo(f) if m.id}
    assert po == mo
    assert all(po.values()), [k for k, v in po.items() if not v]


def test_it_keeps_the_same_placeholders_in_every_translation() -> None:
    with (CATALOGUE / "messages.po").open("rb") as f:
        catalogue = read_po(f)
    field = re.compile(r"%\(\w+\)s|%%|\{\{\s*\w+\s*\}\}")
    wrong = [m.id for m in catalogue if m.id and sorted(field.findall(m.id)) != sorted(field.findall(m.string))]
    assert not wrong, wrong


# -- the chat: the client's language, and /lang ---------------------------------------------


def _reporter(session: Session) -> Reporter:
    session.rollback()
    return session.scalars(select(Reporter)).one()


def test_it_answers_a_chat_in_the_language_of_the_client(chat: Any, session: Session) -> None:
    chat.language = "en-GB"
    chat.command("help")
    assert chat.last.text.startswith("Commands:") and "/lang" in chat.last.text
    assert _reporter(session).language == "en"
    chat.language = "zh-hans"
    chat.command("help")
    assert chat.last.text.startswith("可用指令：")
    assert _reporter(session).language == "zh"


def test_it_switches_the_chat_language_with_lang_and_keeps_it_over_the_clients(
    chat: Any, session: Session,
) -> None:
    chat.command("lang", "en")
    assert "The chat is now in English" in chat.last.text
    reporter = _reporter(session)
    assert reporter.language == "en" and reporter.language_chosen
    chat.command("help")  # the client still says Chinese: the choice stands
    assert chat.last.text.startswith("Commands:")
    assert _reporter(session).language == "en"

    chat.command("lang", "klingon")
    assert "Send /lang zh (中文) or /lang en (English)." in chat.last.text
    assert _reporter(session).language == "en"

    chat.command("lang")  # bare: the other language
    assert "已切换为中文" in chat.last.text
    assert _reporter(session).language == "zh"


def test_it_keeps_a_draft_when_the_language_changes_mid_form(chat: Any, session: Session) -> None:
    chat.command("start")
    assert "请选择信息类别" in chat.last.text
    replies = chat.command("lang", "en")
    assert "The chat is now in English" in replies[0].text
    assert "Choose a category" in replies[-1].text  # the same question, now in English


def test_it_lists_lang_in_both_languages_in_the_one_list_of_commands() -> None:
    from store.conversation import commands

    lang = commands.BY_NAME["lang"]
    assert lang.description("zh").startswith("切换语言") and lang.description("en").startswith("Switch language")
    assert "lang" in commands.accepted(Channel.WEB) and "lang" in commands.accepted(Channel.TELEGRAM)


def test_it_has_english_for_every_prompt_of_the_report_form() -> None:
    from store import forms

    form = forms.load("report")
    for step in form.steps:
        assert step.name("en") != step.name("zh"), step.key
        assert step.text("en") != step.text("zh"), step.key
        for choice in step.choices:
            assert choice.label.get("en"), (step.key, choice.value)


# -- sentences made at run time: a catalogue message with named placeholders, never an f-string --

WEB = Path(__file__).resolve().parent.parent / "web"
SHOWN_BY = {"flash", "refuse", "abort"}
LOOKED_UP = {"_", "gettext", "ngettext", "said"}


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _messages(call: ast.Call) -> list[ast.expr]:
    """The argument of a flash/refuse/abort call that a person reads."""
    name = _called(call)
    if name == "abort":
        said = [k.value for k in call.keywords if k.arg == "description"]
        return said + call.args[1:2]
    return call.args[:1] + [k.value for k in call.keywords if k.arg == "message"]


def _formats(node: ast.AST) -> bool:
    """An f-string with a field, a `.format(...)` or a `"..." % value`."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Attribute) and node.func.attr == "format"
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
            and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str))


def _formatted(node: ast.AST) -> list[ast.AST]:
    """Sentences built by formatting in `node`, outside the arguments of a catalogue lookup."""
    if isinstance(node, ast.Call) and _called(node) in LOOKED_UP:
        return []
    found: list[ast.AST] = [node] if _formats(node) else []
    for child in ast.iter_child_nodes(node):
        found.extend(_formatted(child))
    return found


def _formatted_messages(source: str, filename: str) -> list[str]:
    wrong = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and _called(node) in SHOWN_BY:
            for message in _messages(node):
                wrong += [f"{filename}:{bad.lineno}" for bad in _formatted(message)]
    return wrong


def test_it_gives_flash_refuse_and_abort_a_catalogue_message_never_a_formatted_string() -> None:
    wrong = [place for path in sorted(WEB.rglob("*.py"))
             for place in _formatted_messages(path.read_text(encoding="utf-8"), str(path.relative_to(WEB)))]
    assert not wrong, wrong


def test_it_catches_each_way_of_formatting_a_message() -> None:
    caught = _formatted_messages(
        'flash(f"已保存「{name}」。", "success")\n'
        'edge.refuse("不能修改{}".format(name))\n'
        'abort(403, description="不能修改%s" % name)\n'
        'flash("已保存。" + (f"共 {n} 条" if n else ""), "success")\n', "sample.py")
    assert caught == ["sample.py:1", "sample.py:2", "sample.py:3", "sample.py:4"]
    assert not _formatted_messages(
        'flash(_("已保存「%(name)s」。", name=name), "success")\n'
        'edge.refuse(said(str(exc)))\nabort(404)\nflash("已保存。", "info")\n', "sample.py")


def test_it_shows_a_flash_with_a_name_filled_in_in_english(app: Flask, session: Session, admin: User) -> None:
    _english(session, admin)
    client = app.test_client()
    login(client, "alice")
    page = post_page(client, "/search/views", name="本周紧急", q="电梯")
    assert 'View "本周紧急" saved.' in page.replace("&#34;", '"').replace("&quot;", '"')
    assert "已保存视图" not in page
    assert session.scalars(select(SavedView).where(SavedView.name == "本周紧急")).one()
