"""A real Chromium clicks through the console and files a report in the web chat.

Skipped when /usr/bin/chromium is absent; never downloads a browser. With
MINYI_SCREENSHOTS=1 the README's screenshots in docs/screenshots/ are redone;
otherwise they go to a temporary folder, so a test run leaves the tree clean.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from minyi.settings import Settings
from store.models import AdoptionLevel, Attachment, CollectionPoint, Report, ReportStatus, User
from store.outputs import adoption
from store.reports import files
from tests.browser_support import login, needs_chromium
from tests.conftest import PASSWORD
from tests.domain_support import make_report
from tests.form_walk import SITUATION, SUGGESTION, walk

DOCS_SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

pytestmark = needs_chromium


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = DOCS_SHOTS if os.environ.get("MINYI_SCREENSHOTS") == "1" else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _photo() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (480, 320), (90, 110, 130))
    draw = ImageDraw.Draw(img)
    for x in range(30, 480, 90):
        draw.rectangle([x, 120, x + 14, 320], fill=(40, 40, 40))
        draw.ellipse([x - 12, 95, x + 26, 125], fill=(250, 220, 120) if x % 180 else (60, 60, 60))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _seed(session: Session, settings: Settings, point: CollectionPoint) -> Report:
    from store.review import templates

    templates.ensure_defaults(session)
    other = CollectionPoint(name="东街社区委员工作室")
    session.add(other)
    session.commit()
    # Each demo report tells its own story, so the similar-reports panel shows
    # what an office would see: the one real duplicate, not shared filler text.
    make_report(session, other, title="老旧小区加装电梯审批流程长、居民协调难", category="livelihood",
                situation="东街社区12个老旧小区申请加装电梯，审批要跑5个部门，两年只装成2部。")
    make_report(session, point, title="城区中小学放学时段校门口交通拥堵", category="education",
                external_id="w-demo-2",
                situation="实验小学门口每天16:30放学时车辆排队约300米，接送家长要等20分钟。")
    make_report(session, other, title="沿河排污口雨后出现黑臭水体", category="ecology",
                external_id="tg-2002", urgent=True,
                situation="东河3号排污口每逢下雨就排出黑水，下游500米河段发臭，已持续两个月。")
    make_report(session, point, title="个体工商户反映电子发票开具操作复杂", category="economy",
                external_id="tg-2003",
                situation="城关镇约200户个体工商户反映电子发票系统步骤多，老年经营者需找人代开。")
    make_report(session, point, title="人民路路灯坏了晚上很黑", category="livelihood",
                external_id="w-demo-3",
                situation="人民路百货大楼附近有10多盏路灯不亮，已经3个月了，晚上出行很不安全。")
    report = make_report(
        session, point, title="城关镇人民路路灯长期不亮，夜间出行存在安全隐患", urgent=True,
        situation=SITUATION, suggestion=SUGGESTION, place="城关镇人民路（百货大楼至人民医院段）",
        analysis="路灯线路老化，维修责任在城管和供电部门之间不明确，群众报修后无人跟进。",
        contact="张先生 138****0000",
        answers={"category": "livelihood", "urgent": True, "anonymous": False})
    data = _photo()
    rel, digest = files.save(settings.upload_dir, data, "image/jpeg")
    session.add(Attachment(report_id=report.id, kind="photo", filename="人民路夜间.jpg",
                           content_type="image/jpeg", size=len(data), sha256=digest,
                           storage_path=rel))
    session.commit()
    return report


def test_it_clicks_a_report_through_the_review_chain(
    base_url: str, browser: object, clerk: User, director: User, secretary: User,
    session: Session, settings: Settings, point: CollectionPoint, shots: Path,
) -> None:
    report = _seed(session, settings, point)
    ctx = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    page = ctx.new_page()
    login(page, base_url, "carol")
    page.screenshot(path=str(shots / "console.png"))

    # 初审: the clerk finds it in 待我审核 and signs the level off.
    page.click("#tab-mine")
    page.click(f"a:has-text('{report.tracking_no}')")
    page.wait_for_selector(".tracking strong")
    assert page.inner_text(".tracking strong") == report.tracking_no
    assert "初审" in page.inner_text("#chain li.current")
    page.wait_for_load_state("load")  # the photo is in
    page.screenshot(path=str(shots / "report.png"), full_page=True)
    page.click("#choose-sign_off")
    page.fill("form:has(#sign-off) textarea[name=note]", "情况属实，建议报送。")
    page.click("#sign-off")
    page.wait_for_selector(".flash-success")
    assert "本级已通过" in page.inner_text(".flash-success")

    # 审核: the director, in a fresh session.
    ctx.clear_cookies()
    login(page, base_url, "david")
    page.click("#tab-mine")
    page.click(f"a:has-text('{report.tracking_no}')")
    assert "审核" in page.inner_text("#chain li.current")
    page.click("#choose-sign_off")
    page.click("#sign-off")
    page.wait_for_selector(".flash-success")

    # 审定: the secretary-general adopts it at the city level.
    ctx.clear_cookies()
    login(page, base_url, "sophia")
    page.click("#tab-mine")
    page.click(f"a:has-text('{report.tracking_no}')")
    assert "审定" in page.inner_text("#chain li.current")
    page.click("#choose-adopt")
    page.select_option("form:has(#adopt) select[name=adoption_level]", "city")
    page.screenshot(path=str(shots / "review.png"), full_page=True)
    page.click("#adopt")
    page.wait_for_selector(".flash-success")
    assert "已采用" in page.inner_text(".flash-success")
    assert page.locator("#chain li.done").count() == 3
    session.rollback()
    session.expire_all()
    adopted = session.get(Report, report.id)
    assert adopted is not None and adopted.status is ReportStatus.ADOPTED
    assert adoption.highest(session, adopted) is AdoptionLevel.CITY

    page.click("nav a:has-text('采集点')")
    page.wait_for_load_state("load")  # the QR images are in
    assert point.name in page.inner_text("main")
    page.screenshot(path=str(shots / "points.png"))
    ctx.close()


def test_it_files_a_report_from_a_phone(
    base_url: str, browser: object, point: CollectionPoint, point_token: str, session: Session,
    tmp_path: Path, shots: Path,
) -> None:
    photo = tmp_path / "路灯.jpg"
    photo.write_bytes(_photo())
    ctx = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
        has_touch=True, locale="zh-CN")
    page = ctx.new_page()
    page.goto(f"{base_url}/c/{point_token}")

    def bubble(text: str) -> None:
        page.locator(".bubble", has_text=text).last.wait_for()

    def say(text: str) -> None:
        page.fill("#text", text)
        page.click("#send")

    def tap(label: str) -> None:
        page.locator("button.choice", has_text=label).last.click()

    bubble("请选择信息类别")
    assert point.name in page.inner_text("header")
    for a in walk(skip={"analysis"}):
        bubble(a.step.text("zh")[:8])  # each question appears before it is answered
        if a.skip or a.kind in ("choice", "yesno"):
            tap(a.label)
        elif a.kind == "file":
            page.set_input_files("#file", str(photo))
            bubble("已收到第 1 个文件")
            tap("完成")
        else:
            say(a.value)
    bubble("请核对您要反映的信息")
    tap("确认提交")
    bubble("提交成功")
    receipt = page.locator(".bubble", has_text="提交成功").last.inner_text()
    no = re.search(r"\d{4}-\d{6}", receipt)
    assert no
    page.screenshot(path=str(shots / "webchat.png"))

    report = session.scalar(sa.select(Report).where(Report.tracking_no == no.group(0)))
    assert report is not None and report.point_id == point.id and len(report.attachments) == 1
    ctx.close()


def test_it_searches_filters_saves_a_view_and_opens_a_marked_report(
        browser, base_url: str, session: Session, admin: User, shots: Path) -> None:  # noqa: ANN001

    urgent = make_report(session, title="东门社区老旧小区加装电梯进展缓慢", urgent=True,
                         situation="东门社区 12 栋老楼只有 2 栋装了电梯，80 岁以上老人 46 人上下楼困难。")
    make_report(session, title="人民路电梯维保不到位", situation="人民路 3 个小区电梯一年停运 20 多次。")
    make_report(session, title="菜市场周边停车难", situation="早高峰 300 多辆车乱停。")
    session.commit()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")  # type: ignore[attr-defined]
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("#nav-search")
    page.fill("#q", "电梯")
    page.click("#search-go")
    assert "共找到 2 条信息" in page.inner_text("#total")
    assert page.locator("#results mark").first.inner_text() == "电梯"
    page.select_option("select[name=urgency]", "urgent")
    page.click("#search-go")
    assert "共找到 1 条信息" in page.inner_text("#total")
    assert "q=%E7%94%B5%E6%A2%AF" in page.url and "urgency=urgent" in page.url  # shareable
    page.fill("input[name=name]", "紧急电梯")
    page.click("#save-view")
    assert "紧急电梯 1" in page.inner_text("#views")
    page.screenshot(path=str(shots / "search.png"))
    page.click("#results a")
    assert page.locator("h1 mark").inner_text() == "电梯"
    assert f"/reports/{urgent.id}" in page.url


def test_it_files_a_counter_report_and_prints_the_slip(
    base_url: str, browser: object, clerk: User, point: CollectionPoint, session: Session,
    tmp_path: Path, shots: Path,
) -> None:
    photo = tmp_path / "排污口.jpg"
    photo.write_bytes(_photo())
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = ctx.new_page()
    login(page, base_url, "carol")
    page.click("#nav-intake")
    page.wait_for_selector("h1:has-text('代录社情民意信息')")
    assert page.input_value("select[name=point_id]") == str(point.id)  # the only point there is

    # The ecology question appears with its category, and goes with another one.
    assert page.is_hidden("#step-pollution")
    page.check("input[name=a_category][value=ecology]")
    assert page.is_visible("#step-pollution")
    page.check("input[name=a_category][value=law]")
    assert page.is_hidden("#step-pollution") and page.is_visible("#step-agency")
    page.check("input[name=a_category][value=ecology]")
    page.check("input[name=a_pollution][value=water]")
    page.fill("input[name=a_title]", "东河3号排污口雨后排出黑水")
    page.fill("textarea[name=a_situation]", "东河的水很黑很臭，附近居民意见很大，希望有人来管一管")
    page.fill("textarea[name=a_suggestion]", "建议环保部门对排污口上游企业逐一排查，并在雨季加密水质监测。")
    page.fill("input[name=a_place]", "城关镇东河3号排污口")
    page.set_input_files("input[name=a_photos]", str(photo))
    page.check("input[name=a_urgent][value='0']")
    page.check("input[name=a_anonymous][value='0']")
    assert page.is_visible("#step-contact")
    page.fill("input[name=a_contact]", "李女士 13900000000")
    page.click("#submit")

    # No number in the situation: the chat's rule, said beside the field; nothing is lost.
    page.wait_for_selector("#err-situation")
    assert "具体事实" in page.inner_text("#err-situation")
    assert page.input_value("input[name=a_contact]") == "李女士 13900000000"
    assert page.is_visible("#step-pollution") and page.is_checked("input[name=a_pollution][value=water]")
    assert page.is_checked("#kept-photos input")
    page.screenshot(path=str(shots / "intake.png"), full_page=True)
    page.fill("textarea[name=a_situation]",
              "东河3号排污口每逢下雨就排出黑水，下游500米河段发臭，已持续两个月。")
    page.click("#submit")

    page.wait_for_selector("#tracking-no")
    no = page.inner_text("#tracking-no")
    follow = page.inner_text("#follow-url")
    assert re.fullmatch(r"\d{4}-\d{6}", no) and "/c/f/" in follow
    assert page.is_visible("#print")
    page.screenshot(path=str(shots / "slip.png"), full_page=True)
    page.emulate_media(media="print")
    assert page.is_hidden("#print")
    page.emulate_media(media="screen")

    report = session.scalar(sa.select(Report).where(Report.tracking_no == no))
    assert report is not None and report.answers["pollution"] == "water"
    assert report.entered_by_id == clerk.id and len(report.attachments) == 1

    # The citizen's phone opens the slip's link and sees the receipt, without a new form.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)  # type: ignore[attr-defined]
    chat = phone.new_page()
    chat.goto(follow.replace("http://minyi.test", base_url))
    chat.locator(".bubble", has_text=no).first.wait_for()
    assert "代为录入" in chat.inner_text("#log")
    chat.wait_for_timeout(300)
    assert "请选择信息类别" not in chat.inner_text("#log")
    phone.close()
    ctx.close()
