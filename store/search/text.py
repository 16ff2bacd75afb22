"""Chinese text as the search index sees it: normalised, then cut into tokens.

Chinese has no spaces, so a run of Chinese characters is indexed as its
overlapping bigrams plus its last character on its own (加装电梯 → 加装 装电
电梯 梯). Every character then starts exactly one token, so:

- a one-character query is a prefix query (电 → every token starting with 电);
- a two-character query is one token (电梯);
- a longer one is a phrase of consecutive bigrams (加装电梯 → "加装 装电 电梯");
  PostgreSQL checks it otherwise (below).

A run never fuses with the next one (punctuation, a field boundary or a Latin
word puts a single-character token between them), so a phrase cannot match
across them. Latin words and numbers are whole lower-case tokens matched as
prefixes (5G基站 → 5g, 基站; 12345热线 → 12345, 热线).

PostgreSQL also gets each run's trigrams, in a tsvector of their own (`grams`),
each at its bigram's position (加装电梯 → 加装电 装电梯). GIN keeps no positions, so
a phrase of bigrams would be checked against every report holding all of them, its
word list read from the table (75,000 reports for 养老院 at a million); a
three-character word is one trigram that the index answers alone. A longer one
is the trigrams that cover it, which the index answers alone, and then a plain
substring check in the report's long runs (`long_runs`: its Chinese runs of four
characters or more, kept beside the index), a short row instead of a list
stored apart. SQLite's FTS5 keeps positions in its index and is given bigrams
only.

Normalisation is per character so that highlighting can map a match back to
the original text: NFKC (ＡＢＣ１２３ → abc123), lower case and, when the office
turns it on, traditional to simplified characters (電梯 → 电梯).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import chain
from operator import add

from markupsafe import Markup, escape

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of Chinese characters, or of Latin letters and digits.
_RUN = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
_CJK_FIRST = _CJK[0]

_OPERATORS = re.compile(r"\b(?:AND|OR|NOT|NEAR)\b")
# How much of a query is used, and how many of its words.
MAX_QUERY_CHARS = 100
MAX_TERMS = 12


@cache
def _simplified() -> dict[str, str]:
    import zhconv.zhconv as zc

    table = zc.getdict("zh-hans")
    return {k: v for k, v in table.items() if len(k) == 1 and len(v) == 1}


@cache
def _fold_char(ch: str, traditional: bool) -> str:
    out = unicodedata.normalize("NFKC", ch).lower()
    if traditional:
        simple = _simplified()
        out = "".join(simple.get(c, c) for c in out)
    return out


class _Folds(dict[int, str]):
    """Code point -> `_fold_char` of it, filled on first sight: a `str.translate` table, so
    a text is folded character by character in C (indexing is mostly this and `tokens`)."""

    def __init__(self, traditional: bool) -> None:
        super().__init__()
        self.traditional = traditional

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code), self.traditional)
        return folded


_FOLDS = (_Folds(False), _Folds(True))


def normalize(text: str, traditional: bool = False) -> str:
    """`text` as the index stores it (may differ in length from `text`)."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLDS[traditional])


def _normalize_mapped(text: str, traditional: bool) -> tuple[str, list[int] | None]:
    """The normalised text and, for each of its characters, the index it came from (None:
    its own index)."""
    out = normalize(text, traditional)
    if len(out) == len(text):
        # No character folds to more than one (none folds to nothing): the usual case,
        # folded in C and mapped one to one (a page's snippets read every hit's text).
        return out, None
    where: list[int] = []
    for i, ch in enumerate(text):
        where.extend([i] * len(_fold_char(ch, traditional)))
    return out, where


def runs(normalized: str) -> list[str]:
    return _RUN.findall(normalized)


# Runs recur (a place, a common phrase, a template's words between its numbers), so each
# short one is cut once: most of indexing a text becomes dictionary look-ups. Long runs
# are rare and are cut each time, so the caches stay small whatever people write.
_CACHED_RUN, _RUN_CACHE = 32, 2**15


def _cut(run: str) -> tuple[str, ...]:
    if run[0] < _CJK_FIRST:  # a Latin run: [a-z0-9] sort below every Chinese character
        return (run,)
    return (*map(add, run, run[1:]), run[-1])


_cut_cached = lru_cache(maxsize=_RUN_CACHE)(_cut)


@lru_cache(maxsize=_RUN_CACHE)
def _joined_cached(run: str) -> str:
    return " ".join(_cut(run))


def _run_tokens(run: str) -> tuple[str, ...]:
    return _cut_cached(run) if len(run) <= _CACHED_RUN else _cut(run)


def _run_document(run: str) -> str:
    return _joined_cached(run) if len(run) <= _CACHED_RUN else " ".join(_cut(run))


def _index_runs(text: str, traditional: bool) -> list[str]:
    """`runs(normalize(text))`. A text whose characters all stand as they are (`_as_is`, most
    reports) has the same runs unfolded: found without folding it character by character,
    which was a third of cutting a text into its document."""
    return runs(text if _as_is(text, traditional) else normalize(text, traditional))


def tokens(text: str, traditional: bool = False) -> list[str]:
    """The tokens of `text` in order, as they go into the index."""
    return list(chain.from_iterable(map(_run_tokens, _index_runs(text, traditional))))


def document(text: str, traditional: bool = False) -> str:
    """`tokens` joined by spaces: what SQLite's FTS5 (unicode61) is given to index."""
    found = _index_runs(text, traditional)
    if found and max(map(len, found)) <= _CACHED_RUN:  # the usual text: no run is long
        return " ".join(map(_joined_cached, found))
    return " ".join(map(_run_document, found))


@dataclass(frozen=True)
class Term:
    """One word of a query: a Chinese run or a Latin word / number."""

    text: str  # normalised

    @property
    def chinese(self) -> bool:
        return bool(_IS_CJK.match(self.text))

    def bigrams(self) -> list[str]:
        return [self.text[i:i + 2] for i in range(len(self.text) - 1)]

    def trigrams(self) -> list[str]:
        return [self.text[i:i + 3] for i in range(len(self.text) - 2)]

    def cover(self) -> list[str]:
        """Trigrams that between them hold every character of a Chinese word of three or
        more: every third one, and the last (养老院床位紧张 → 养老院 床位紧 位紧张)."""
        grams = self.trigrams()
        return grams[::3] + ([grams[-1]] if (len(grams) - 1) % 3 else [])


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]
    cut: bool  # the query was longer than we use

    @property
    def empty(self) -> bool:
        return not self.terms


def parse(raw: str, traditional: bool = False) -> Query:
    """The words of what a user typed; operators, quotes and punctuation are just separators."""
    # Search-engine operators typed in capitals are not words to look for.
    raw = _OPERATORS.sub(" ", raw or "")
    text = normalize(raw, traditional).strip()
    cut = len(text) > MAX_QUERY_CHARS
    text = text[:MAX_QUERY_CHARS]
    seen: dict[str, Term] = {}
    for run in runs(text):
        seen.setdefault(run, Term(run))
    terms = tuple(seen.values())
    return Query(terms[:MAX_TERMS], cut or len(terms) > MAX_TERMS)


def fts5_match(query: Query) -> str:
    """The FTS5 MATCH expression: every term must occur (AND)."""
    parts = []
    for term in query.terms:
        if term.chinese and len(term.text) > 1:
            parts.append('"' + " ".join(term.bigrams()) + '"')
        else:
            parts.append(f'"{term.text}"*')
    return " AND ".join(parts)


# A Chinese word this long or longer is looked for in a report's long runs (PostgreSQL).
LONG = 4


def tsqueries(query: Query, weights: str = "", covers: bool = True) -> tuple[str, str]:
    """The PostgreSQL tsqueries (literal lexemes, never parsed by a text search config) for
    the words (`tsvectors`' first) and the trigrams (its second), "" where none is asked:
    a Chinese word of two characters is its bigram, of three its trigram (which GIN answers
    alone), and a longer one the trigrams that cover it (`Term.cover`), which the index
    answers alone too; that it stands whole, and in which fields, is checked in each
    candidate's long runs (`long_terms`, `long_runs`), so its trigrams carry no weights (a
    weight makes the index read every candidate's list back) and, with `covers` False,
    are left out (a report met walking newest first is checked in its runs alone). No
    phrase is asked: a phrase makes PostgreSQL read every candidate's word list, three
    pages of TOAST each (the nine-character word's search at a million, 25,260 matches:
    307.5 ms p95 as a phrase, 168-183 ms through the runs)."""
    mark = f":{weights}" if weights else ""
    words, grams = [], []
    for term in query.terms:
        if term.chinese and len(term.text) >= LONG:
            if covers:
                grams.append("(" + " & ".join(f"'{t}'" for t in term.cover()) + ")")
        elif term.chinese and len(term.text) == 3:
            grams.append(f"('{term.text}'{mark})")
        elif term.chinese and len(term.text) == 2:
            words.append(f"('{term.text}'{mark})")
        else:
            words.append(f"'{term.text}':*{weights}")
    return " & ".join(words), " & ".join(grams)


def long_terms(query: Query) -> list[str]:
    """The query's Chinese words that PostgreSQL checks in the reports' long runs: those
    of `LONG` characters or more, which its trigrams only narrow down to candidates."""
    return [t.text for t in query.terms if t.chinese and len(t.text) >= LONG]


def long_runs(text: str, traditional: bool = False) -> str:
    """The Chinese runs of `text` that a long word can lie in (`LONG` characters or more),
    normalised as the index normalises them and joined by spaces: a long word occurs in
    `text`'s index exactly when it is a substring of this."""
    return " ".join(r for r in _index_runs(text, traditional)
                    if len(r) >= LONG and r[0] >= _CJK_FIRST)


def _cut_grams(run: str) -> tuple[tuple[str, ...], ...]:
    """The lexemes at each of a run's positions: its token (`_cut`) and, for a Chinese run,
    the trigram starting there when there is one."""
    cut = _cut(run)
    if run[0] < _CJK_FIRST or len(run) < 3:
        return tuple((token,) for token in cut)
    last = len(run) - 2  # the last bigram, then the last character, start no trigram
    return (*((cut[i], cut[i] + run[i + 2]) for i in range(last)), (cut[last],), (cut[-1],))


_grams_cached = lru_cache(maxsize=_RUN_CACHE)(_cut_grams)


# PostgreSQL keeps positions up to 16383 (and at most 256 per lexeme); each position with
# its weight as the literal writes it ("12B"), made once rather than per lexeme and report.
_LAST_POSITION = 16383


@cache
def _positions(weight: str) -> tuple[str, ...]:
    return ("", *(f"{pos}{weight}" for pos in range(1, _LAST_POSITION + 1)))


def tsvectors(fields: list[tuple[str, str]], traditional: bool = False) -> tuple[str, str]:
    """PostgreSQL tsvector literals for (weight, text) pairs, positions counted across them:
    the words (`tokens`, one position each) and the trigrams `tsqueries` asks for, each at
    its bigram's position."""
    words: dict[str, list[str]] = {}
    grams: dict[str, list[str]] = {}
    pos = 0
    for weight, text in fields:
        written = _positions(weight)
        for run in _index_runs(text, traditional):
            for lexemes in _grams_cached(run) if len(run) <= _CACHED_RUN else _cut_grams(run):
                pos += 1
                # The token to the words, the trigram starting here (if any) to the grams.
                for lexeme, positions in zip(lexemes, (words, grams), strict=False):
                    entries = positions.get(lexeme)
                    if entries is None:
                        positions[lexeme] = entries = []
                    if pos <= _LAST_POSITION and len(entries) < 256:
                        entries.append(written[pos])
    return _literal(words), _literal(grams)


def _literal(positions: dict[str, list[str]]) -> str:
    return " ".join(f"'{tok}':{','.join(p)}" if p else f"'{tok}'" for tok, p in positions.items())


# -- highlighting ----------------------------------------------------------------

def _spans(normalized: str, query: Query) -> list[tuple[int, int]]:
    spans = []
    for term in query.terms:
        start = normalized.find(term.text)
        while start != -1:
            # Latin words and numbers match at a word start, as the index does.
            if term.chinese or start == 0 or not normalized[start - 1].isalnum() \
                    or not normalized[start - 1].isascii():
                spans.append((start, start + len(term.text)))
            start = normalized.find(term.text, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


# Characters a word is looked for among as they stand: each folds to itself, or is
# punctuation folding to punctuation (，→ , …→ ...), which no word holds and which
# parts words either way. A text of only these is matched without folding it (a page's
# snippets read every hit's text; folding costs a dictionary look-up per character).
# tests/test_search.py checks every character this lets through.
_AS_IS = (r"\x00-\x40\x5b-\x7f\u00a0-\u00a9\u00ab-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf"
          r"\u00d7\u00f7\u2000-\u205e\u3000-\u3037\u303b-\u303f\u3400-\u4dbf\u4e00-\u9fff"
          r"\ufe30-\ufe6b\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65")
_TO_FOLD = re.compile(f"[^{_AS_IS}]")


@cache
def _traditional_chars() -> re.Pattern[str]:
    """The characters folding traditional to simplified changes."""
    changed = sorted(k for k, v in _simplified().items() if k != v)
    return re.compile("[" + "".join(map(re.escape, changed)) + "]")


def _as_is(text: str, traditional: bool) -> bool:
    """Whether `text`'s matches are found in it unfolded, at the same places."""
    return _TO_FOLD.search(text) is None and not (traditional and _traditional_chars().search(text))


def matches(text: str, query: Query, traditional: bool = False) -> list[tuple[int, int]]:
    """Where `query`'s words occur in `text`, as [start, end) spans of the original text."""
    if query.empty or not text:
        return []
    if _as_is(text, traditional):
        return _spans(text, query)
    normalized, where = _normalize_mapped(text, traditional)
    spans = _spans(normalized, query)
    if where is None:
        return spans
    return [(where[a], where[b - 1] + 1) for a, b in spans]


def highlight(text: str, query: Query, traditional: bool = False) -> Markup:
    """`text` escaped, with each match in <mark>."""
    return _render(text or "", matches(text or "", query, traditional), 0, len(text or ""))


def snippet(text: str, query: Query, traditional: bool = False, width: int = 80) -> Markup | None:
    """About `width` characters of `text` around its first match, highlighted; None without one."""
    spans = matches(text or "", query, traditional)
    if not spans:
        return None
    first = spans[0][0]
    start = max(0, first - width // 3)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    return _render(text, spans, start, end)


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> Markup:
    # Plain strings joined once, each piece escaped: a Markup built up piece by piece
    # escapes and copies at every `+` (a page renders two of these per report).
    out = ["…" if start > 0 else ""]
    at = start
    for a, b in spans:
        if b <= start or a >= end:
            continue
        a, b = max(a, start), min(b, end)
        out += (escape(text[at:a]), "<mark>", escape(text[a:b]), "</mark>")
        at = b
    out.append(escape(text[at:end]))
    if end < len(text):
        out.append("…")
    return Markup("".join(out))
