"""A real `liaison serve` with the demo data, and Debian's Chromium driven by Playwright.

The browser is `/usr/bin/chromium` (installed by `scripts/browser.sh`); Playwright's own
browser downloads are never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.clamd_fixtures import clamd
from tests.conftest import JWT_SECRET
from tests.realtime_fixtures import LIAISON, ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: two cores shared with the rest of the suite.
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class AppServer:
    """`liaison serve` on SQLite in a temp dir; restartable on the same port."""

    data_dir: Path
    clamd_dir: Path  # a clamd of this module's own: tests stop and start it
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LIAISON_DATA_DIR": str(self.data_dir),
            "LIAISON_DATABASE_URL": f"sqlite://{self.data_dir}/liaison.db",
            "LIAISON_JWT_SECRET": JWT_SECRET,
            "LIAISON_ENV": "development",  # the sign-in page lists the demo users
            "LIAISON_CLAMD": str(self.clamd_dir / "clamd.sock"),
            "LIAISON_PUBLIC_URL": self.url,
            "LIAISON_RATE_LIMIT_USER_PER_MINUTE": "100000",
            "LIAISON_RATE_LIMIT_ACCOUNT_PER_MINUTE": "100000",
        }

    def seed(self) -> None:
        done = subprocess.run(
            [LIAISON, "seed", "--demo"],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=True,
        )
        self.users = {u["email"]: u for u in json.loads(done.stdout)["users"]}

    def start(self) -> None:
        log = (self.data_dir / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [LIAISON, "serve", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.data_dir / "serve.log").read_text())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError("liaison serve did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def graphql(self, email: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {self.users[email]['token']}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    clamd_dir = tmp_path_factory.mktemp("clamd")
    socket_path = clamd("start", clamd_dir)
    assert socket_path == str(clamd_dir / "clamd.sock"), socket_path
    server = AppServer(tmp_path_factory.mktemp("webapp"), clamd_dir)
    try:
        server.seed()
        server.start()
        yield server
    finally:
        server.stop()
        clamd("stop", clamd_dir)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run scripts/browser.sh"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Session:
    """One browser context: its page, every URL it requested, uncaught page errors."""

    context: BrowserContext
    page: Page
    requests: list[str]
    errors: list[str] = field(default_factory=list)

    def close(self) -> None:
        """Close the context; the app must not have thrown anything meanwhile."""
        self.context.close()
        assert self.errors == [], self.errors


def open_app(browser: Browser, server: AppServer, width: int = 1280, height: int = 800) -> Session:
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    session = Session(context, page, requests)
    page.on("pageerror", lambda error: session.errors.append(str(error)))
    page.goto(f"{server.url}/app/")
    return session


def sign_in_as(session: Session, email: str) -> None:
    """The development sign-in: one button per demo user."""
    session.page.get_by_role("button", name=f"Sign in as {email}", exact=True).click()
    expect(session.page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_in_with_token(session: Session, token: str) -> None:
    session.page.get_by_label("Token", exact=True).fill(token)
    session.page.get_by_role("button", name="Sign in", exact=True).click()
    expect(session.page.get_by_role("button", name="Sign out")).to_be_visible()


def expect_live(page: Page) -> None:
    """The websocket is up (the app shows `Reconnecting…` only while it is not)."""
    expect(page.locator("[data-live=live]")).to_have_count(1)
