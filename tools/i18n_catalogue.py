"""Rebuild the console's English catalogue from the sources, keeping what is translated.

    .venv/bin/python tools/i18n_catalogue.py

Collects every `_()`/`N_()` in web/ (templates and Python), and the sentences
shown through `said` at run time: Chinese string literals given to flash,
abort and refuse in web/, refusals raised in store/ and the report sources'
names. Writes web/translations/messages.pot, merges it into
web/translations/en/LC_MESSAGES/messages.po (a new entry is empty: the page
shows the Chinese until it is translated) and compiles messages.mo.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
POT = WEB / "translations" / "messages.pot"
PO = WEB / "translations" / "en" / "LC_MESSAGES" / "messages.po"
CJK = re.compile(r"[\u3400-\u9fff]")
SHOWN_BY = {"flash", "abort", "refuse"}
BILINGUAL = re.compile(r" / [A-Za-z]")


def extracted() -> Catalog:
    catalogue = Catalog(project="minyi", locale=None)
    methods = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.do"}}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(WEB), methods, options_map=options, keywords={"_": None, "N_": None}):
        catalogue.add(message, locations=[(f"web/{filename}", lineno)])
    for path, lineno, text in runtime_sentences():
        if BILINGUAL.search(text):
            continue  # "中文 / English": `said` shows the English half
        catalogue.add(text, locations=[(str(path.relative_to(ROOT)), lineno)])
    return catalogue


def runtime_sentences() -> list[tuple[Path, int, str]]:
    found = []
    for path in sorted(WEB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _name(node.func) == "render_template":
                # An error page's words (error.html prints `title` and `text`).
                found += [(path, k.value.lineno, k.value.value) for k in node.keywords
                          if k.arg in ("title", "text") and _chinese(k.value)]
            if isinstance(node, ast.Call) and _name(node.func) in SHOWN_BY:
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    # A whole sentence, or either side of `a if c else b`; a sentence built
                    # with names or numbers in it is shown as it was said.
                    sides = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
                    found += [(path, c.lineno, c.value) for c in sides if _chinese(c)]
    for path in sorted((ROOT / "store").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                first = node.exc.args[0]
                if _chinese(first):  # a sentence with nothing filled in
                    found.append((path, first.lineno, first.value))
            if isinstance(node, ast.Assign) and any(_name(t) == "SOURCE_NAMES" for t in node.targets):
                found += [(path, c.lineno, c.value) for c in ast.walk(node.value) if _chinese(c)]
    found += constant_names()
    for path in sorted((ROOT / "bot").rglob("*.py")):  # each channel's name on the points page
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _name(node.func) == "PointLinks":
                found += [(path, c.lineno, c.value) for c in node.args if _chinese(c)]
    # Names a module builds when imported (the scoring rules' "被县级采用（每条）" ...).
    sys.path.insert(0, str(ROOT))
    from store.outputs import scorerules

    found += [(ROOT / "store/outputs/scorerules.py", 0, name) for name in scorerules.NAMES.values()]
    return found


# Chat texts have their own catalogue (store/i18n.py and the chat's messages and commands).
CHAT_SIDE = ("store/i18n.py", "store/conversation/")


def constant_names() -> list[tuple[Path, int, str]]:
    """Chinese words in module and class constants (level names, kinds, field names ...).

    Templates print them with `{{ value }}`; the console's Jinja `finalize` looks each
    printed string up in the catalogue (web.i18n).
    """
    found = []
    for path in sorted([*WEB.rglob("*.py"), *(ROOT / "store").rglob("*.py")]):
        name = str(path.relative_to(ROOT))
        if "migrations" in path.parts or name.startswith(CHAT_SIDE):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bodies = [tree.body, *(n.body for n in tree.body if isinstance(n, ast.ClassDef))]
        for body in bodies:
            for node in body:
                if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None \
                        and not _pattern(node):
                    found += [(path, c.lineno, c.value) for c in ast.walk(node.value) if _chinese(c)]
    return found


def _pattern(node: ast.Assign | ast.AnnAssign) -> bool:
    """A character class or regular expression, not words (`_CJK = "\\u3400-..."`)."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return any((_name(t) or "").lstrip("_").isupper() and (_name(t) or "").lstrip("_") in PATTERNS
               for t in targets)


PATTERNS = {"CJK"}


def _name(node: ast.AST) -> str | None:
    return getattr(node, "id", None) or getattr(node, "attr", None)


def _chinese(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(CJK.search(node.value))


def main() -> None:
    template = extracted()
    POT.parent.mkdir(parents=True, exist_ok=True)
    with POT.open("wb") as f:
        write_po(f, template, width=0, omit_header=False)
    if PO.exists():
        with PO.open("rb") as f:
            catalogue = read_po(f, locale="en")
    else:
        PO.parent.mkdir(parents=True, exist_ok=True)
        catalogue = Catalog(locale="en", project="minyi")
    catalogue.update(template, no_fuzzy_matching=True)
    catalogue.obsolete.clear()
    with PO.open("wb") as f:
        write_po(f, catalogue, width=0, omit_header=False)
    sys.path.insert(0, str(ROOT))
    from web.i18n import write_mo

    write_mo(PO, PO.with_suffix(".mo"))
    missing = sum(1 for m in catalogue if m.id and not m.string)
    print(f"{len(template)} messages, {missing} not yet translated")


if __name__ == "__main__":
    main()
