"""What the browser tests share: the system Chromium, a live server, logging in.

Chromium is /usr/bin/chromium (`.ci/run` installs it with apt); a test that
needs it is skipped when it is missing, and Playwright never downloads one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    """The app served on a free local port for the length of the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def login(page: Any, base_url: str, username: str) -> None:
    """Log in through the form, as a person would, and wait for the inbox."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    # The login page speaks the browser's language (web.i18n), so the button is found by its
    # form, not its words; the form's own, not the header's 退出 of a session still open.
    page.click("form[action$='/login'] button[type=submit]")
    page.wait_for_selector("h1:has-text('信息收件箱')")
