"""An issue as .docx (from a replaceable template) and as PDF (issue 12, point 3)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import docx
import pypdf
import pytest
from sqlalchemy.orm import Session

from store.models import JournalIssue, User
from store.outputs import journal
from store.outputs.journal import document, issues, pdf, publishing, series, word
from store.outputs.journal.word import TemplateError
from tests.domain_support import make_report
from tests.review_support import adopt

# Emoji (with a variation selector), an extension-B ideograph, traditional characters.
HARD = "居民反映😀❤️𠀾字與臺灣同胞來信"


def _issue(session: Session, admin: User, n: int = 2, title: str = "关于老旧小区加装电梯的建议") -> JournalIssue:
    reports = []
    for i in range(n):
        report = make_report(session, title=f"{title}{i + 1}"[:200],
                             situation=f"第{i + 1}条情况：{HARD}。城关镇 12 个老旧小区中只有 2 个装了电梯。")
        adopt(session, report, admin)
        reports.append(report)
    journal_series = series.find(session, "社情民意")
    journal_series.publisher = "城关县政协办公室"
    issue = issues.compose(session, journal_series, reports, admin)
    issues.edit_item(session, issue, issue.items[0].id, admin, title=title + HARD,
                     body=issue.items[0].body, note="请有关部门研究。")
    issues.edit_issue(session, issue, admin, note="本期编者按。",
                      distribution={"bao": "省政协办公厅、市委办公室", "song": "", "fa": "各区县政协"})
    publishing.sign_off(session, issue, admin)
    session.commit()
    return issue


def _docx_text(data: bytes) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]


def _pdf_text(data: bytes) -> str:
    """The PDF's text without page numbers and the spaces and breaks where lines wrap."""
    text = "".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"—\d+—", "", "".join(text.split()))


def test_the_docx_carries_masthead_number_items_and_distribution(
        session: Session, admin: User, tmp_path: Path) -> None:
    issue = _issue(session, admin)
    lines = _docx_text(journal.export(session, issue, "docx", tmp_path))
    number = f"{issue.year}年第1期"
    assert lines[:3] == ["社情民意", number, "总第1期"]
    assert lines[3].startswith("城关县政协办公室\t") and lines[3].endswith("日")
    assert "编者按：本期编者按。" in lines
    title = lines.index("关于老旧小区加装电梯的建议" + HARD)
    assert lines[title + 1] == "按：请有关部门研究。"
    assert HARD in lines[title + 2]
    assert "（城关县政协）" not in lines and lines.count("（群众反映）") == 2
    assert lines[-2:] == ["报：省政协办公厅、市委办公室", "发：各区县政协"]  # nobody under 送: no line
    doc = docx.Document(io.BytesIO(journal.export(session, issue, "docx", tmp_path)))
    assert doc.paragraphs[title].style.name == "Journal Item Title"
    assert not any("{{" in line for line in lines)


def test_the_pdf_embeds_its_fonts_and_keeps_every_character(
        session: Session, admin: User, tmp_path: Path) -> None:
    issue = _issue(session, admin)
    data = journal.export(session, issue, "pdf", tmp_path)
    text = _pdf_text(data)
    assert "社情民意" in text and f"{issue.year}年第1期" in text and "总第1期" in text
    assert "关于老旧小区加装电梯的建议居民反映😀❤𠀾字與臺灣同胞來信" in text
    assert "报：省政协办公厅、市委办公室" in text
    reader = pypdf.PdfReader(io.BytesIO(data))
    embedded = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            desc = font.get("/FontDescriptor")
            embedded[str(font["/BaseFont"]).split("+")[-1]] = desc is not None and \
                "/FontFile2" in desc.get_object()
    assert embedded.get("MinyiSansSC-Regular") and embedded.get("MinyiSansSC-Extra") \
        and embedded.get("MinyiSymbols")
    assert "STSong-Light" not in embedded  # nothing left to the reader's fonts


def test_a_title_of_2000_characters_is_printed_whole(session: Session, admin: User, tmp_path: Path) -> None:
    issue = _issue(session, admin, 1)
    publishing.revise(session, issue, admin)
    long_title = ("关于" + "长" * 1990 + "的建议😀𠀾")[:2000]
    issues.edit_item(session, issue, issue.items[0].id, admin, title=long_title,
                     body=issue.items[0].body, note="")
    session.commit()
    assert long_title in _docx_text(journal.export(session, issue, "docx", tmp_path))
    assert long_title in _pdf_text(journal.export(session, issue, "pdf", tmp_path))


def test_a_long_title_in_several_faces_wraps_evenly_across_pages(tmp_path: Path) -> None:
    # reportlab splits a paragraph of several faces across a page badly: a gap walking along
    # the next page's lines and a stray glyph after 𠀾. Each such line is set on its own.
    title = "关于" + "長" * 1985 + "的建议😀𠀾臺灣"
    doc = document.Issue(journal="社情民意", number="2026年第1期", total="", date="2026年1月1日",
                         publisher="", note="按语😀", items=[document.Item(
                             title=title, paragraphs=[HARD * 40], note="请研究😀", source="群众反映")])
    reader = pypdf.PdfReader(io.BytesIO(pdf.render(doc)))
    assert len(reader.pages) >= 4
    lines = [line.strip() for page in reader.pages for line in (page.extract_text() or "").splitlines()
             if "長" in line]
    assert "".join(lines) == title.removesuffix("臺灣")  # the last two wrap onto a line of their own
    assert len({len(line) for line in lines[:-1]}) == 1  # every full line equally long
    assert not any("\x00" in (page.extract_text() or "") for page in reader.pages)
    # Every character of a long paragraph too (the variation selector is left out where no face draws it).
    assert HARD.replace("\ufe0f", "") * 40 in _pdf_text(pdf.render(doc))


def test_a_draft_says_so_and_has_no_number(session: Session, admin: User, tmp_path: Path) -> None:
    report = make_report(session)
    adopt(session, report, admin)
    issue = issues.compose(session, series.find(session, "社情民意"), [report], admin)
    lines = _docx_text(journal.export(session, issue, "docx", tmp_path))
    assert lines[1] == "草稿（未编号）（草稿）" and "总第" not in "".join(lines)
    assert document.of(session, issue).filename == "社情民意-草稿（未编号）"


def _template(tmp_path: Path, *lines: str, header: str | None = None) -> Path:
    doc = docx.Document()
    for line in lines:
        doc.add_paragraph(line)
    if header:
        doc.sections[0].header.paragraphs[0].text = header
    path = tmp_path / "office.docx"
    doc.save(str(path))
    return path


def test_an_office_template_is_used_with_its_own_masthead(
        session: Session, admin: User, tmp_path: Path) -> None:
    issue = _issue(session, admin)
    path = _template(tmp_path, "城关县政协 {{journal}} 红头", "{{ number }}", "{{date}}", "{{items}}",
                     "（共印 50 份）", header="{{journal}} 内部资料 注意保存")
    series.set_template(session, issue.series, path.name)
    data = journal.export(session, issue, "docx", tmp_path)
    doc = docx.Document(io.BytesIO(data))
    lines = [p.text for p in doc.paragraphs]
    assert lines[0] == "城关县政协 社情民意 红头" and lines[1] == f"{issue.year}年第1期"
    assert lines[-1] == "（共印 50 份）"
    assert doc.sections[0].header.paragraphs[0].text == "社情民意 内部资料 注意保存"
    assert "关于老旧小区加装电梯的建议" + HARD in lines  # Heading 2 when the template lacks our styles


def test_a_template_missing_placeholders_is_refused_naming_them(tmp_path: Path) -> None:
    path = _template(tmp_path, "{{journal}}", "{{bogus}}", "正文")
    with pytest.raises(TemplateError) as caught:
        word.load(path)
    message = str(caught.value)
    assert "{{number}}、{{date}}、{{items}}" in message and "{{bogus}}" in message
    with pytest.raises(TemplateError, match="单独成段"):
        word.load(_template(tmp_path, "{{journal}}{{number}}{{date}}", "正文 {{items}}"))
    with pytest.raises(TemplateError, match="不是 Word .docx 文件"):
        word.check_file(b"%PDF-1.4 not a docx")
    word.check_file(word.DEFAULT_TEMPLATE.read_bytes())


def test_the_shipped_template_is_the_one_the_tool_builds(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build_journal_template", Path(__file__).parent.parent / "tools" / "build_journal_template.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    shipped = docx.Document(str(word.DEFAULT_TEMPLATE))
    assert [p.text for p in built.paragraphs] == [p.text for p in shipped.paragraphs]
    assert {s.name for s in built.styles} == {s.name for s in shipped.styles}
