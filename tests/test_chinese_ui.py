"""Issue 11 in a real browser: a nurse who reads no English uses the studio in Chinese, while another
browser uses it in English at the same time."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT, drop_audio, drop_files, start_app
from playwright.sync_api import expect

pytestmark = pytest.mark.slow
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# LIPSYNC_SCREENSHOTS=docs refreshes the ones the README shows (docs/make_screenshots.sh)
SHOTS = ROOT / os.environ.get("LIPSYNC_SCREENSHOTS", "test-results")
#: (tab, texts that must be on it) for every tab
ZH_TABS = {"批量生成": ["1. 录音", "2. 模板视频或照片（可拖进来）", "开始批量生成", "各个视频", "示例", "序号"],
           "单个生成": ["模板视频或照片", "生成", "结果"],
           "模板": ["检查模板", "加入模板库", "模板库", "新名称", "从模板库移除"],
           "历史记录": ["开始日期（年-月-日）", "刷新", "删除选中的视频", "中断的批次", "创建时间"],
           "日志": ["运行日志（实时，最新的在前）"]}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("zh")
    proc, url = start_app(tmp)
    yield url
    proc.terminate()
    proc.wait(20)


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed (the README's test command installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def no_face_picture(tmp_path_factory):
    import cv2

    path = tmp_path_factory.mktemp("wall") / "白墙.png"
    cv2.imwrite(str(path), np.full((256, 256, 3), 180, np.uint8))
    return path


def _fits_the_screen(page) -> None:
    """Nothing wider than a 1366 px screen (Chinese labels are not cut or pushed sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, width


def test_a_nurse_does_everything_in_chinese_while_another_browser_reads_english(app, browser, no_face_picture):
    zh = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768}).new_page()
    en = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 768}).new_page()
    zh.goto(app)
    en.goto(app)
    start = zh.get_by_role("button", name="开始批量生成")
    start.wait_for(timeout=30_000)
    assert start.bounding_box()["y"] + start.bounding_box()["height"] <= 768  # above the fold
    for tab, texts in ZH_TABS.items():
        zh.get_by_role("tab", name=tab).click()
        for text in texts:
            expect(zh.get_by_text(text, exact=True).locator("visible=true").first).to_be_visible(timeout=10_000)
        _fits_the_screen(zh)
        zh.screenshot(path=str(SHOTS / f"screenshot-zh-{list(ZH_TABS).index(tab) + 1}.png"))
    zh.get_by_role("tab", name="批量生成").click()

    # one good and one bad template: the statuses and the reason are Chinese, the file name as it is
    drop_audio(zh, "batch-audio", EXAMPLES / "demo_speech.wav")
    drop_files(zh, "batch-templates", [EXAMPLES / "demo_face.png", no_face_picture])
    zh.wait_for_timeout(1500)
    start.click()
    summary = zh.locator("#batch-summary")
    summary.get_by_text("全部结束：完成 1 / 2 个").wait_for(timeout=240_000)
    expect(summary).to_contain_text("失败 1 个")
    expect(summary).to_contain_text("“白墙.png”：")
    expect(summary).to_contain_text("没有找到人脸")
    table = zh.locator("#batch-items")
    expect(table).to_contain_text("已完成")
    expect(table).to_contain_text("失败")
    zh.screenshot(path=str(SHOTS / "screenshot-zh-batch-done.png"), full_page=True)

    # the English browser was never touched by the Chinese one
    expect(en.get_by_role("tab", name="Batch")).to_be_visible()
    expect(en.get_by_role("button", name="Start batch")).to_be_visible()
    expect(en.get_by_text("1. Audio recording").first).to_be_visible()
    assert en.get_by_text("开始批量生成").count() == 0

    # the switch: the same page, now in English (the finished batch is shown again, in English)
    zh.locator("#language-switch").get_by_text("English").click()
    zh.get_by_role("button", name="Start batch").wait_for(timeout=30_000)
    expect(zh.locator("#batch-summary")).to_contain_text("Finished: 1 / 2 done", timeout=30_000)
    expect(zh.locator("#batch-summary")).to_contain_text("'白墙.png': no face found")
    expect(zh.locator("#batch-items")).to_contain_text("failed")
    zh.reload()  # the choice holds in this browser
    zh.get_by_role("button", name="Start batch").wait_for(timeout=30_000)
    zh.get_by_role("tab", name="History").click()
    expect(zh.locator("#history-table")).to_contain_text("白墙.png", timeout=20_000)
    expect(zh.locator("#history-table")).to_contain_text("no face found")
    # and back: History speaks Chinese again, error included
    zh.locator("#language-switch").get_by_text("中文").click()
    zh.get_by_role("tab", name="历史记录").wait_for(timeout=30_000)
    zh.get_by_role("tab", name="历史记录").click()
    expect(zh.locator("#history-table")).to_contain_text("没有找到人脸", timeout=20_000)
    expect(zh.locator("#history-table")).to_contain_text("失败")
