"""The console in Chinese or English (issue 14): Flask-Babel, a locale per request.

Templates keep their Chinese words as message ids (`{{ _('待初审') }}`); the
English catalogue is web/translations/en/LC_MESSAGES/messages.po, compiled to
messages.mo next to it (committed; `install` compiles it again when the .po is
newer, so a fresh edit of the .po shows without a build step). A signed-in
staff member sees their account's language (我的账号); anyone else, the
browser's Accept-Language, Chinese by default. Flash messages and refusals made
in web/ pass through `_` too; a store DomainError's Chinese sentence is looked
up in the same catalogue when shown (`said`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from flask_login import current_user

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
TRANSLATIONS = Path(__file__).parent / "translations"


def install(app: Flask) -> None:
    """Babel for `app`, with the catalogue compiled if the .mo is missing or older than the .po."""
    compile_catalogue()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "zh")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=choose)
    # Words from store/ that templates print as they are (level names, unit kinds, field
    # names) are looked up too; Markup (already translated or built HTML) is left alone.
    app.jinja_env.finalize = lambda value: said(value) if type(value) is str else value

    @app.context_processor
    def language() -> dict[str, Any]:
        return {"lang": lang(), "html_lang": "en" if lang() == "en" else "zh-CN"}


def choose() -> str:
    """The request's language: the staff member's own, else the browser's, else Chinese."""
    if current_user and current_user.is_authenticated:
        return current_user.user.language if current_user.user.language in LANGUAGES else "zh"
    return request.accept_languages.best_match(LANGUAGES) or "zh"


def lang() -> str:
    """"zh" or "en" for this request (Chinese outside one)."""
    if not has_request_context():
        return "zh"
    return "en" if str(get_locale() or "zh").startswith("en") else "zh"


def said(sentence: str) -> str:
    """A sentence made at run time (a flash, a refusal from store/) in the request's language.

    Looked up in the catalogue; a store sentence written "中文 / English" shows its
    English half in English. One the catalogue lacks (most with a name or a
    number filled in) stays as it was said.
    """
    if not sentence or lang() != "en":
        return sentence
    translated = _(sentence)
    if translated == sentence and " / " in sentence:
        return sentence.split(" / ", 1)[1]
    return translated


def compile_catalogue() -> None:
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            write_mo(po, mo)
        except OSError:  # a read-only install: the committed .mo is used as it is
            log.warning("could not compile %s", po)


def write_mo(po: Path, mo: Path) -> None:
    from babel.messages.mofile import write_mo as babel_write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalogue = read_po(f)
    with mo.open("wb") as f:
        babel_write_mo(f, catalogue)
