"""axe-core in the browser tests: the WCAG 2.1 A and AA rules, serious and critical
violations reported."""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
BLOCKING = ("serious", "critical")


def violations(page: Page) -> list[str]:
    results = Axe().run(page, options=RULES)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            for node in violation["nodes"]:
                found.append(
                    f"{page.url}: {violation['id']} ({violation['impact']}) {node['target']}: "
                    f"{node['failureSummary'][:160]}"
                )
    return found
