"""The web app at /app/ in a real browser (Debian's Chromium through Playwright).

A real `liaison serve` (SQLite, real clamd, the demo data) and two browser contexts: the
brand's community manager and the Trail Blog partner. Everything goes through the page, by
the accessible names the app promises; screenshots land in each test's tmp dir.
"""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, Route, expect

from tests.clamd_fixtures import clamd
from tests.webapp_fixtures import (
    AppServer,
    Session,
    app_server,
    browser,
    expect_live,
    open_app,
    sign_in_as,
    sign_in_with_token,
)

__all__ = ["app_server", "browser"]

BRAND = "cm@acmeoutdoor.example"
PARTNER = "owner@trailblog.example"
CORPUS = Path(__file__).resolve().parent / "corpus"
# clamd on a loaded machine (the suite runs beside it) can take a while, with retries.
SCAN_MS = 90_000
UNREAD = re.compile(r"^\d+ unread$")
SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } errors { code } } }"
ACCOUNT_ID = "query { viewer { account { id } } }"


def conversation_item(page: Page, name: str) -> Locator:
    return (
        page.get_by_role("list", name="Conversations").get_by_role("listitem").filter(has_text=name)
    )


def messages(page: Page) -> Locator:
    return page.get_by_role("region", name="Messages", exact=True)


def open_conversation(page: Page, name: str) -> None:
    conversation_item(page, name).get_by_role("button").click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def send(page: Page, text: str) -> None:
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(messages(page)).to_contain_text(text)


def brand_and_partner(browser: Browser, server: AppServer) -> tuple[Session, Session]:
    brand = open_app(browser, server)
    sign_in_as(brand, BRAND)
    partner = open_app(browser, server)
    sign_in_with_token(partner, server.users[PARTNER]["token"])
    expect_live(brand.page)
    expect_live(partner.page)
    return brand, partner


def test_brand_and_partner_exchange_messages_live_with_unread_badges(
    app_server: AppServer, browser: Browser, tmp_path: Path
) -> None:
    brand, partner = brand_and_partner(browser, app_server)
    # Partners are for brands only.
    expect(partner.page.get_by_role("button", name="Partners")).to_have_count(0)

    # The partner reads what the demo left unread, then leaves the conversation.
    open_conversation(partner.page, "Acme Outdoor")
    acme = conversation_item(partner.page, "Acme Outdoor")
    expect(acme.get_by_role("img", name=UNREAD)).to_have_count(0)
    partner.page.get_by_role("button", name="Settings", exact=True).click()
    partner.page.get_by_role("button", name="Inbox", exact=True).click()

    # The brand finds the partner in Partners (status filter) and writes.
    brand.page.get_by_role("button", name="Partners", exact=True).click()
    brand.page.get_by_label("Partnership status").select_option("ACTIVE")
    partners = brand.page.get_by_role("list", name="Partners").get_by_role("listitem")
    expect(partners).to_have_count(1)
    expect(partners).to_contain_text("Trail Blog")
    partners.get_by_role("button", name="Message").click()
    expect(brand.page.get_by_role("heading", name="Trail Blog", exact=True)).to_be_visible()
    hello = f"Hello from the brand {uuid.uuid4().hex[:8]}"
    send(brand.page, hello)

    # Live on the partner's side: the badge appears without a reload, and clears on reading.
    expect(acme.get_by_role("img", name="1 unread")).to_be_visible()
    expect(partner.page.get_by_role("tab", name=re.compile(r"^Inbox"))).to_be_visible()
    partner.page.screenshot(path=tmp_path / "partner-unread.png")
    acme.get_by_role("button").click()
    expect(messages(partner.page)).to_contain_text(hello)
    expect(acme.get_by_role("img", name=UNREAD)).to_have_count(0)

    # The partner answers with the keyboard (Enter sends); the brand sees it live, already read.
    reply = f"Thanks, brand {uuid.uuid4().hex[:8]}"
    partner.page.get_by_label("Message", exact=True).fill(reply)
    partner.page.get_by_label("Message", exact=True).press("Enter")
    expect(messages(brand.page)).to_contain_text(reply)
    expect(
        conversation_item(brand.page, "Trail Blog").get_by_role("img", name=UNREAD)
    ).to_have_count(0)
    # The brand's read is live on the partner's side too.
    expect(messages(partner.page).get_by_text("Seen")).to_be_visible()
    brand.page.screenshot(path=tmp_path / "brand-conversation.png")
    brand.close()
    partner.close()


def test_attachments_show_scan_status_and_download_only_when_clean(
    app_server: AppServer, browser: Browser, tmp_path: Path
) -> None:
    brand, partner = brand_and_partner(browser, app_server)
    open_conversation(brand.page, "Trail Blog")
    open_conversation(partner.page, "Acme Outdoor")

    # clamd is down while the PNG is sent: it stays `Scanning` (and is retried), never clean.
    clamd("stop", app_server.clamd_dir)
    try:
        png = (CORPUS / "valid.png").read_bytes()
        picker = brand.page.get_by_label("Attach files", exact=True)
        picker.set_input_files([{"name": "logo.png", "mimeType": "image/png", "buffer": png}])
        brand.page.get_by_label("Message", exact=True).fill("Our logo")
        brand.page.get_by_role("button", name="Send", exact=True).click()
        logo = messages(brand.page).get_by_role("listitem").filter(has_text="logo.png").last
        partner_logo = (
            messages(partner.page).get_by_role("listitem").filter(has_text="logo.png").last
        )
        for item in (logo, partner_logo):
            expect(item).to_contain_text("Scanning")
            expect(item.get_by_role("link")).to_have_count(0)
        brand.page.screenshot(path=tmp_path / "scanning.png")
    finally:
        clamd("start", app_server.clamd_dir)
    # The verdict arrives live on both pages, with the link.
    expect(logo).to_contain_text("Clean", timeout=SCAN_MS)
    expect(partner_logo).to_contain_text("Clean", timeout=SCAN_MS)
    expect(partner_logo.get_by_role("link", name="Download logo.png")).to_be_visible()
    with brand.page.expect_download() as download:
        logo.get_by_role("link", name="Download logo.png").click()
    saved = tmp_path / "logo.png"
    download.value.save_as(saved)
    assert saved.read_bytes() == png

    # EICAR in a well-formed CSV: Infected, and no link on either side.
    picker.set_input_files(
        [
            {
                "name": "eicar.csv",
                "mimeType": "text/csv",
                "buffer": (CORPUS / "eicar_in.csv").read_bytes(),
            }
        ]
    )
    brand.page.get_by_role("button", name="Send", exact=True).click()
    eicar = messages(brand.page).get_by_role("listitem").filter(has_text="eicar.csv").last
    expect(eicar).to_contain_text("Infected", timeout=SCAN_MS)
    expect(eicar.get_by_role("link")).to_have_count(0)
    partner_eicar = messages(partner.page).get_by_role("listitem").filter(has_text="eicar.csv").last
    expect(partner_eicar).to_contain_text("Infected", timeout=SCAN_MS)
    expect(partner_eicar.get_by_role("link")).to_have_count(0)
    brand.page.screenshot(path=tmp_path / "attachments.png")
    brand.close()
    partner.close()


def test_folder_tabs_move_a_conversation_and_show_counts(
    app_server: AppServer, browser: Browser, tmp_path: Path
) -> None:
    brand = open_app(browser, app_server)
    sign_in_as(brand, BRAND)
    page = brand.page
    done_tab = page.get_by_role("tab", name=re.compile(r"^Done"))
    expect(done_tab).to_have_text(re.compile(r"^Done \d+$"))
    done_before = int(done_tab.inner_text().split()[-1])

    open_conversation(page, "Trail Blog")
    page.get_by_role("button", name="Move to Done").click()
    expect(conversation_item(page, "Trail Blog")).to_have_count(0)
    expect(done_tab).to_have_text(f"Done {done_before + 1}")
    done_tab.click()
    expect(done_tab).to_have_attribute("aria-selected", "true")
    expect(conversation_item(page, "Trail Blog")).to_have_count(1)
    page.screenshot(path=tmp_path / "done-tab.png")

    # Priority, then back to the inbox, by keyboard along the tabs.
    page.get_by_role("button", name="Move to Inbox").click()
    expect(conversation_item(page, "Trail Blog")).to_have_count(0)
    done_tab.focus()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name=re.compile(r"^Inbox"))).to_have_attribute(
        "aria-selected", "true"
    )
    expect(conversation_item(page, "Trail Blog")).to_have_count(1)
    page.get_by_role("button", name="Priority", exact=True).click()
    expect(page.get_by_role("button", name="Priority", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("tab", name=re.compile(r"^Priority")).click()
    expect(conversation_item(page, "Trail Blog")).to_have_count(1)
    page.get_by_role("button", name="Priority", exact=True).click()
    expect(conversation_item(page, "Trail Blog")).to_have_count(0)

    # Assignment within the brand's team, and the Assignee filter.
    page.get_by_role("tab", name=re.compile(r"^Inbox")).click()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Assigned to Cory Community")).to_be_visible()
    page.get_by_label("Assignee").select_option("ME")
    expect(page.get_by_role("list", name="Conversations").get_by_role("listitem")).to_have_count(1)
    expect(conversation_item(page, "Trail Blog")).to_have_count(1)
    page.get_by_role("button", name="Unassign").click()
    expect(conversation_item(page, "Trail Blog")).to_have_count(0)
    page.get_by_label("Assignee").select_option("")

    # Mark unread: back to the list, with the badge (left open it would be read again).
    page.get_by_role("button", name="Mark unread").click()
    expect(page.get_by_role("heading", name="Trail Blog", exact=True)).to_have_count(0)
    expect(conversation_item(page, "Trail Blog").get_by_role("img", name=UNREAD)).to_be_visible()
    expect(page).to_have_title(re.compile(r"^\(\d+\) Liaison inbox$"))
    brand.close()


def test_search_finds_a_message(app_server: AppServer, browser: Browser, tmp_path: Path) -> None:
    brand, partner = brand_and_partner(browser, app_server)
    word = f"kayak{uuid.uuid4().hex[:6]}"
    open_conversation(partner.page, "Acme Outdoor")
    send(partner.page, f"Our {word} review goes live on Friday")

    page = brand.page
    page.get_by_label("Search", exact=True).fill(word[:-2])  # the last word matches as a prefix
    results = page.get_by_role("list", name="Search results").get_by_role("listitem")
    expect(results).to_have_count(1)
    expect(results).to_contain_text("Trail Blog")
    expect(results.locator("mark")).to_have_text(word)
    page.screenshot(path=tmp_path / "search.png")
    results.get_by_role("button").click()
    expect(messages(page)).to_contain_text(f"Our {word} review")
    brand.close()
    partner.close()


def test_server_restart_while_open_resumes_without_losing_a_message(
    app_server: AppServer, browser: Browser, tmp_path: Path
) -> None:
    brand, partner = brand_and_partner(browser, app_server)
    page = brand.page
    subscribes: list[str] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framesent",
            lambda frame: subscribes.append(frame) if '"subscribe"' in str(frame) else None,
        ),
    )
    open_conversation(page, "Trail Blog")
    brand_id = app_server.graphql(BRAND, ACCOUNT_ID, {})["viewer"]["account"]["id"]
    before = f"Before the restart {uuid.uuid4().hex[:8]}"
    app_server.graphql(PARTNER, SEND, {"input": {"recipientAccountId": brand_id, "body": before}})
    expect(messages(page)).to_contain_text(before)

    app_server.stop()
    expect(page.get_by_role("status").filter(has_text="Reconnecting…")).to_be_visible()
    page.screenshot(path=tmp_path / "reconnecting.png")
    app_server.start()
    during = f"Sent as the server came back {uuid.uuid4().hex[:8]}"
    app_server.graphql(PARTNER, SEND, {"input": {"recipientAccountId": brand_id, "body": during}})

    expect(messages(page)).to_contain_text(during)
    expect(page.get_by_text("Reconnecting…")).to_have_count(0)
    # It resumed from its last event's cursor rather than starting afresh.
    assert any('"after":"' in frame for frame in subscribes), subscribes
    after = f"After the restart {uuid.uuid4().hex[:8]}"
    send(page, after)
    texts = messages(page).inner_text()
    assert texts.count(during) == 1 and texts.index(before) < texts.index(during) < texts.index(
        after
    )
    brand.close()
    partner.close()


def test_first_load_is_small_same_origin_and_usable_at_375px(
    app_server: AppServer, browser: Browser, tmp_path: Path
) -> None:
    session = open_app(browser, app_server, width=375, height=740)
    page = session.page
    page.wait_for_load_state("networkidle")
    total = page.evaluate(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".reduce((n, e) => n + e.transferSize, 0)"
    )
    assert 0 < total <= 150 * 1024, total
    sign_in_as(session, BRAND)
    expect_live(page)
    assert all(url.startswith((app_server.url, "blob:", "data:")) for url in session.requests), (
        session.requests
    )

    # Narrow: the list, then the conversation alone with a way back; keyboard and focus ring.
    item = conversation_item(page, "Trail Blog").get_by_role("button")
    item.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus by keyboard: the ring shows
    assert page.evaluate("document.activeElement.textContent").startswith("Trail Blog")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Trail Blog", exact=True)).to_be_visible()
    expect(page.get_by_role("list", name="Conversations")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=tmp_path / "narrow-conversation.png")
    page.get_by_role("button", name="Back to inbox").click()
    expect(page.get_by_role("list", name="Conversations")).to_be_visible()
    session.close()


def test_history_pages_upward_when_scrolled_to_the_top(
    app_server: AppServer, browser: Browser, tmp_path: Path
) -> None:
    borealis = app_server.graphql("cm@borealiscosmetics.example", ACCOUNT_ID, {})
    brand_id = borealis["viewer"]["account"]["id"]
    for n in range(1, 46):
        body = f"Page message {n:02d}"
        app_server.graphql(PARTNER, SEND, {"input": {"recipientAccountId": brand_id, "body": body}})
    session = open_app(browser, app_server)
    sign_in_as(session, PARTNER)
    page = session.page
    open_conversation(page, "Borealis Cosmetics")
    region = messages(page)
    expect(region).to_contain_text("Page message 45")
    expect(region).not_to_contain_text("Page message 01")
    region.evaluate("el => { el.scrollTop = 0; }")
    expect(region).to_contain_text("Page message 01")
    expect(region).to_contain_text("Start of the conversation")
    text = region.inner_text()
    assert [text.count(f"Page message {n:02d}") for n in range(1, 46)] == [1] * 45
    page.screenshot(path=tmp_path / "history.png")
    session.close()


def test_a_refused_send_shows_the_servers_reason_and_keeps_the_draft(
    app_server: AppServer, browser: Browser, tmp_path: Path
) -> None:
    session = open_app(browser, app_server)
    sign_in_as(session, BRAND)
    page = session.page
    page.get_by_role("button", name="Partners", exact=True).click()
    page.get_by_label("Partnership status").select_option("EXPIRED")
    partners = page.get_by_role("list", name="Partners").get_by_role("listitem")
    expect(partners).to_have_count(1)
    partners.get_by_role("button", name="Message").click()
    expect(page.get_by_role("heading", name="New message to Old Deals")).to_be_visible()
    page.get_by_label("Message", exact=True).fill("Still there?")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_have_value("Still there?")
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)  # retrying cannot help
    page.screenshot(path=tmp_path / "refused.png")
    session.close()


def test_notification_settings_are_saved_and_e_mail_links_open_the_conversation(
    app_server: AppServer, browser: Browser, tmp_path: Path
) -> None:
    session = open_app(browser, app_server)
    sign_in_as(session, PARTNER)
    page = session.page
    page.get_by_role("button", name="Settings", exact=True).click()
    group = page.get_by_role("group", name="E-mail notifications")
    expect(group.get_by_role("radio", name=re.compile(r"^Immediately"))).to_be_checked()
    group.get_by_role("radio", name="Daily digest").check()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    page.screenshot(path=tmp_path / "settings.png")
    frequency = app_server.graphql(PARTNER, "query { viewer { notificationFrequency } }", {})
    assert frequency == {"viewer": {"notificationFrequency": "DAILY"}}
    page.reload()
    expect(page.get_by_role("radio", name="Daily digest")).to_be_checked()

    # The link in a notification e-mail: LIAISON_APP_URL/conversations/<id>.
    inbox = app_server.graphql(
        PARTNER, "query { inbox { edges { node { id counterpart { name } } } } }", {}
    )
    acme = next(
        e["node"]["id"]
        for e in inbox["inbox"]["edges"]
        if e["node"]["counterpart"]["name"] == "Acme Outdoor"
    )
    page.goto(f"{app_server.url}/app/conversations/{acme}")
    expect(page.get_by_role("heading", name="Acme Outdoor", exact=True)).to_be_visible()
    expect(messages(page)).not_to_be_empty()
    session.close()


def test_composer_drops_files_and_retries_a_lost_answer_without_sending_twice(
    app_server: AppServer, browser: Browser, tmp_path: Path
) -> None:
    session = open_app(browser, app_server)
    sign_in_as(session, BRAND)
    page = session.page
    open_conversation(page, "Trail Blog")

    # Drag and drop onto the composer.
    png = base64.b64encode((CORPUS / "valid.png").read_bytes()).decode()
    dropped = page.evaluate_handle(
        """(b64) => { const dt = new DataTransfer();
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        dt.items.add(new File([bytes], 'dropped.png', {type: 'image/png'})); return dt; }""",
        png,
    )
    composer = page.get_by_role("form", name="Composer")
    composer.dispatch_event("dragover", {"dataTransfer": dropped})
    composer.dispatch_event("drop", {"dataTransfer": dropped})
    expect(page.get_by_role("list", name="Files to send")).to_contain_text("dropped.png")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(
        messages(page).get_by_role("listitem").filter(has_text="dropped.png").last
    ).to_contain_text("Clean", timeout=SCAN_MS)

    # The first answer to this send is lost after the server stored the message.
    lost: list[str] = []

    def lose_answer(route: Route) -> None:
        if "sendMessage" in (route.request.post_data or "") and not lost:
            route.fetch()  # reaches the server, which stores the message
            lost.append(route.request.post_data or "")
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/graphql", lose_answer)
    body = f"Sent once only {uuid.uuid4().hex[:8]}"
    page.get_by_label("Message", exact=True).fill(body)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="Not sent")).to_be_visible()
    page.screenshot(path=tmp_path / "not-sent.png")
    page.get_by_role("button", name="Retry", exact=True).click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
    expect(messages(page)).to_contain_text(body)
    assert messages(page).inner_text().count(body) == 1
    history = app_server.graphql(
        BRAND,
        "query($q: String!) { searchMessages(query: $q) { edges { node { id clientMessageId } } } }",
        {"q": body.split()[-1]},
    )
    [hit] = history["searchMessages"]["edges"]
    assert hit["node"]["clientMessageId"] and hit["node"]["clientMessageId"] in lost[0]
    session.close()
