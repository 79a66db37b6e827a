"""Accessibility of the main pages, checked by axe-core (npm, package.json) in Chromium: no
serious or critical violation of WCAG 2.1 A and AA, for a visitor, a signed-in buyer and a
curator; and, whatever their impact, no heading that skips a level and no empty table header."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page

from tests.e2e.main_pages import main_site, open_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = {"serious", "critical"}
# Best practices this site keeps at any impact (axe rates them moderate or minor).
STRUCTURE_RULES = ["heading-order", "empty-table-header"]

RUN_AXE = """
async (options) => {
  const results = await axe.run(document, { ...options, resultTypes: ["violations"] });
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    nodes: violation.nodes.map((node) => ({
      target: node.target.join(" "),
      summary: node.failureSummary,
    })),
  }));
}
"""


def _violations(page: Page, options: dict) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the browser's debugger, which the page's own CSP does not govern.
        page.evaluate(AXE.read_text())
    return page.evaluate(RUN_AXE, options)


def _readable(path: str, violations: list[dict]) -> list[str]:
    lines = []
    for violation in violations:
        lines.append(f"{path}: [{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
    return lines


def _audit(page: Page, server: str, paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        wcag = _violations(page, {"runOnly": {"type": "tag", "values": WCAG_21_AA}})
        structure = []
        if not path.startswith("/admin/"):  # Django's own markup: its WCAG check is enough
            structure = _violations(page, {"runOnly": {"type": "rule", "values": STRUCTURE_RULES}})
        found += _readable(path, [v for v in wcag if v["impact"] in SERIOUS] + structure)
    return found


def test_the_main_pages_have_no_serious_accessibility_violation(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make install` installs axe-core (npm install).")
    site = main_site(chain, hub_deployment, dev_accounts)
    found = []
    for user, paths in site.visitors:
        page = open_page(browser, asgi_server, user)
        found += _audit(page, asgi_server, paths)
        page.context.close()

    assert found == [], "\n".join(found)
