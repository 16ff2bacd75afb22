"""Wrap the Chinese interface text of console templates in `_()` for the English catalogue.

    python tools/i18n_wrap.py web/templates/some_page.html ...

Text between tags becomes `{{ _('...') }}`, a Chinese attribute value becomes
`{{ _('...') }}` inside the quotes, and a Chinese string literal inside `{{ }}`
or `{% %}` becomes `_('...')`. Text already inside `_()` is left alone, so the
tool can be rerun on a page that gained new text. Then run
`python tools/i18n_catalogue.py`, translate the new (empty) entries of
web/translations/en/LC_MESSAGES/messages.po and run it again to compile.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
# Jinja statements, expressions and comments; HTML tags; everything else is text.
TOKEN = re.compile(r"(\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}|<[^>]*>)", re.S)
LITERAL = re.compile(r"(?<!\w)(_\()?('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")
ATTRIBUTE = re.compile(r"(\s[\w:-]+=)(\"[^\"]*\"|'[^']*')")


def quoted(text: str) -> str:
    text = text.replace("%", "%%")
    return "'" + text + "'" if "'" not in text else '"' + text + '"'


def wrap_text(text: str) -> str:
    if not CJK.search(text.strip()):
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()):]
    return lead + "{{ _(" + quoted(text.strip()) + ") }}" + trail


def wrap_literals(code: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(1) or not CJK.search(m.group(2)):
            return m.group(0)
        # Comparisons with stored values must keep the stored words.
        before = code[: m.start()].rstrip()
        if before.endswith(("==", "!=", " in")):
            return m.group(0)
        return "_(" + quoted(m.group(2)[1:-1]) + ")"

    return LITERAL.sub(one, code)


def wrap_tag(tag: str) -> str:
    def attribute(m: re.Match[str]) -> str:
        quote, value = m.group(2)[0], m.group(2)[1:-1]
        parts = TOKEN.split(value)
        out = []
        for i, part in enumerate(parts):
            if i % 2:
                out.append(wrap_literals(part))
            else:
                out.append(wrap_text(part).replace("{{ _('", "{{ _(\"").replace("') }}", "\") }}")
                           if quote == "'" else wrap_text(part))
        return m.group(1) + quote + "".join(out) + quote

    if tag.startswith(("<!--", "<script", "<style")):
        return tag
    return ATTRIBUTE.sub(attribute, tag)


def wrap(source: str) -> str:
    parts = TOKEN.split(source)
    out = []
    for i, part in enumerate(parts):
        if not i % 2:
            out.append(wrap_text(part))
        elif part.startswith("{#"):
            out.append(part)
        elif part.startswith("<"):
            # A tag's Jinja pieces are split again inside its attributes.
            out.append(wrap_tag(part))
        else:
            out.append(wrap_literals(part))
    return "".join(out)


def main(paths: list[str]) -> None:
    for name in paths:
        path = Path(name)
        before = path.read_text(encoding="utf-8")
        after = wrap(before)
        if after != before:
            path.write_text(after, encoding="utf-8")
            print(f"wrapped {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
