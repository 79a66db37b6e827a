"""The Content-Security-Policy in Chromium: every main page is sent with it and loads without a
single violation or console error, and what the pages do (htmx swaps, the deal's websocket) still
works under it. The wallet flows under the policy are the other modules of tests/e2e."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.main_pages import main_site, open_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Records what the policy blocks (and where) before any script of the page runs.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline code"}` +
    ` at ${event.sourceFile || "the page"}:${event.lineNumber} ${event.sample || ""}`.trim()
  );
});
"""


class Problems:
    """What went wrong on the pages a test visits: policy violations, console errors, uncaught
    exceptions, and pages sent without the policy; one readable list for the assertion."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.found: list[str] = []
        self.path = ""
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"{self.path}: uncaught {error}"))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        # Chromium reports the 404 page's own status as a failed resource of that page.
        if self.path.startswith("/no-such-page") and "status of 404" in message.text:
            return
        self.found.append(f"{self.path}: console error: {message.text}")

    def visit(self, server: str, path: str) -> None:
        self.path = path
        response = self.page.goto(server + path)
        policy = response.headers.get("content-security-policy", "")
        if "script-src 'self'" not in policy or "unsafe" in policy:
            self.found.append(f"{path}: sent with the policy {policy!r}")
        self.page.wait_for_load_state("networkidle")
        self.collect()

    def collect(self) -> None:
        for violation in self.page.evaluate("window.__cspViolations"):
            self.found.append(f"{self.path}: {violation}")
        self.page.evaluate("window.__cspViolations = []")


def test_every_main_page_loads_under_the_policy_without_a_violation(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    site = main_site(chain, hub_deployment, dev_accounts)
    found = []
    for user, paths in site.visitors:
        page = open_page(browser, asgi_server, user)
        problems = Problems(page)
        for path in paths:
            problems.visit(asgi_server, path)
        found += problems.found
        page.context.close()

    assert found == [], "\n".join(found)


def test_htmx_filters_and_the_deals_websocket_work_under_the_policy(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    site = main_site(chain, hub_deployment, dev_accounts)
    page = open_page(browser, asgi_server, site.requester)
    problems = Problems(page)

    # htmx swaps the filtered results in place, and pushes the URL.
    problems.visit(asgi_server, "/pools/")
    expect(page.locator("#results .card")).to_have_count(1)
    page.select_option("select[name=cores_min]", "32")
    expect(page.locator("#results")).to_contain_text("No worker pools match these filters.")
    expect(page).to_have_url(re.compile(r"cores_min=32"))
    page.fill("#id_q", "Pool")
    expect(page).to_have_url(re.compile(r"q=Pool"))
    problems.collect()

    # The deal page connects to its websocket (its first snapshot arrives over it).
    problems.visit(asgi_server, f"/deals/{site.dealid}/")
    expect(page.locator("#deal-live")).to_have_attribute("data-seq", "1")
    # The listing page loads its offers panel with htmx and edits a review with an htmx post.
    problems.visit(asgi_server, site.signed_in[2])
    expect(page.locator("#offers")).not_to_contain_text("Loading the offers")
    page.get_by_role("radio", name="5 stars").check()
    page.get_by_role("button", name="Save review").click()
    expect(page.locator("#rating-block")).to_contain_text("Your review is updated.")
    problems.collect()
    page.context.close()

    assert problems.found == [], "\n".join(problems.found)
