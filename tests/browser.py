"""Drive the chat app in headless Debian Chromium with Playwright (no browser download)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def ask_and_open_citation(url: str, question: str, out_dir: Path, name: str, timeout_s: float = 300) -> dict[str, Any]:
    """Ask in the page, wait for a cited answer, click its first [n]; return what the panel shows."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS,
                                    headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                return _run(page, url, question, out_dir, name, timeout_s)
            except Exception:
                page.screenshot(path=str(out_dir / f"{name}-failure.png"), full_page=True)
                raise
        finally:
            browser.close()


def _run(page: Any, url: str, question: str, out_dir: Path, name: str, timeout_s: float) -> dict[str, Any]:
    page.goto(url)
    box = page.locator("#question textarea")
    box.wait_for(timeout=60_000)
    box.fill(question)
    page.locator("#ask").click()
    link = page.locator('#chat a[href^="#cite-"]').first
    link.wait_for(timeout=timeout_s * 1000)
    page.screenshot(path=str(out_dir / f"{name}-answer.png"), full_page=True)
    answer = page.locator("#chat").inner_text()
    link.click()
    card = page.locator(".src-card.open")
    card.wait_for(timeout=10_000)
    mark = card.locator("mark").first
    result = {
        "answer": answer,
        "card_id": card.get_attribute("id"),
        "card_text": card.inner_text(),
        "mark_text": mark.inner_text() if mark.count() else "",
        "mark_visible": mark.is_visible() if mark.count() else False,
    }
    page.screenshot(path=str(out_dir / f"{name}-source-panel.png"), full_page=True)
    return result
