"""The accessibility checks the browser tests run on a page, in the page itself.

axe-core 4.14 (vendored in tests/vendor/axe-core, never fetched) for WCAG A/AA
and best practice, and three checks of our own: every control is labelled,
the page fits the screen with no text squeezed to a character or two per line,
and the contrast of one element's text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"

# axe leaves text whose colour equals its background as "incomplete" (it might be
# hidden on purpose); nothing on these pages is, so a measured ratio below the
# threshold fails like any violation.
AXE_RUN = """async () => {
  const result = await axe.run(document);
  const blocking = result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical');
  const faint = result.incomplete.filter(v => v.id === 'color-contrast').map(v => ({...v,
    nodes: v.nodes.filter(n => n.any.some(c => c.data && c.data.contrastRatio
      && c.data.contrastRatio < parseFloat(c.data.expectedContrastRatio)))})).filter(v => v.nodes.length);
  return blocking.concat(faint).map(v => ({
    id: v.id, impact: v.impact || 'serious', help: v.help, more: Math.max(0, v.nodes.length - 4),
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ': ' + (n.failureSummary
      || n.any.map(c => c.message).join(' ')).replace(/\\s+/g, ' ').slice(0, 220)),
  }));
}"""

# Every control says what it is for: a <label> (around it or for= it) with words in
# it, or an aria-label. A placeholder vanishes as one types, and a title shows only
# to a mouse, so neither counts.
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
  .filter(el => {
    const words = t => /[\\p{L}\\p{N}]/u.test(t || '');
    const named = el.getAttribute('aria-labelledby') || words(el.getAttribute('aria-label'));
    return !named && ![...el.labels].some(l => words(l.textContent));
  })
  .map(el => el.tagName.toLowerCase() + (el.name ? `[name=${el.name}]` : '') + (el.id ? '#' + el.id : ''))
"""

# Problems a reader sees without any tool: a page wider than the screen, and text
# broken after every one or two characters because its column is too narrow.
LAYOUT = """() => {
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + [...el.classList].map(c => '.' + c).join('');
  const out = [];
  const root = document.documentElement, vw = root.clientWidth;
  if (root.scrollWidth > vw + 1) {
    const wide = [...document.body.querySelectorAll('*')].filter(el => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.right > vw + 1 && el.checkVisibility();
    }).slice(0, 3).map(name);
    out.push(`the page is ${root.scrollWidth}px wide on a ${vw}px screen (${wide.join(', ')})`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const squeezed = new Set();  // each text once, however many cells hold it
  for (let node; (node = walker.nextNode());) {
    const text = node.textContent.replace(/\\s+/g, '');
    const el = node.parentElement;
    if ([...text].length < 4 || !el || !el.checkVisibility()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = [...range.getClientRects()].filter(r => r.width > 1);
    const em = parseFloat(getComputedStyle(el).fontSize);
    if (lines.length >= 2 && Math.max(...lines.map(r => r.width)) < 2.6 * em && !squeezed.has(text)) {
      squeezed.add(text);
      out.push(`"${text.slice(0, 16)}" in ${name(el)} breaks after every one or two characters`);
    }
  }
  return out;
}"""

# The contrast of an element's text against the nearest background behind it (WCAG formula).
CONTRAST = """el => {
  const rgb = c => c.match(/[\\d.]+/g).slice(0, 4).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = el;
  while (back && (rgb(getComputedStyle(back).backgroundColor)[3] ?? 1) === 0) back = back.parentElement;
  const [a, b] = [lum(rgb(getComputedStyle(el).color)),
                  lum(rgb(getComputedStyle(back || document.body).backgroundColor))].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.fixture
def axe_context(browser: Any) -> Iterator[Any]:
    """New browser contexts with axe-core loaded into every page they open.

    An init script is not subject to the app's Content-Security-Policy, which
    (rightly) refuses a script tag the page did not bring.
    """
    opened: list[Any] = []
    source = AXE.read_text(encoding="utf-8")

    def new(viewport: dict[str, int], **options: Any) -> Any:
        ctx = browser.new_context(viewport=viewport, locale="zh-CN", **options)
        ctx.add_init_script(script=source)
        opened.append(ctx)
        return ctx

    yield new
    for ctx in opened:
        ctx.close()


def axe_problems(page: Any, where: str) -> list[str]:
    """Serious and critical axe violations on the page as it is now, one line each."""
    found = page.evaluate(AXE_RUN)
    return [f"{where}: axe {v['id']} ({v['impact']}): {v['help']}\n      "
            + "\n      ".join(v["nodes"]) + (f"\n      … and {v['more']} more" if v["more"] else "")
            for v in found]


def layout_problems(page: Any, where: str) -> list[str]:
    return [f"{where}: {text}" for text in page.evaluate(LAYOUT)]


def label_problems(page: Any, where: str) -> list[str]:
    return [f"{where}: {control} has no label (a placeholder or title is not one)"
            for control in page.evaluate(UNLABELLED)]
