"""Accessibility and fit of every persona's main pages, in Chromium, on the demo firm (part of `make test`).

One live server, the demo seeded once, each persona signed in once: every page of the persona's menu (and a few
record pages) is checked with axe-core (node_modules/axe-core, injected from the file: no CDN) and must report
no serious or critical violation. The home pages' figure cards must hold their figures at a phone's, a tablet's
and a desktop's width: no figure or label broken inside a word, nothing spilling out of its card.
"""

import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from crm import demo as crm_demo
from crm.models import Account, Opportunity
from ledger import demo as ledger_demo
from ledger.models import AccountingPeriod
from projects import demo as projects_demo
from projects.models import Project
from psa.core import demo as core_demo
from psa.web.demo import DEMO_PASSWORD, seed_users

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PERSONAS = ["sales", "pm", "consultant", "finance", "admin", "client"]
MIN_PAGES = 25
PER_PERSONA = 5  # menu pages per persona beyond its home and record pages
WIDTHS = (390, 768, 1440)

# axe on the whole document; only what breaks use (serious, critical) fails the test.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.html.slice(0, 120))}));
}"""

# Every word of a figure card (value and label) on one line, and no card content wider than its card.
FIGURES_FIT = """() => {
  const problems = [];
  document.querySelectorAll(".psa-figure").forEach(card => {
    if (card.scrollWidth > card.clientWidth + 1) problems.push("spills out: " + card.innerText.replace(/\\s+/g, " "));
    card.querySelectorAll(".psa-figure-value, .psa-figure-label").forEach(el => {
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      let node;
      while ((node = walker.nextNode())) {
        const re = /\\S+/g;
        let m;
        while ((m = re.exec(node.data))) {
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
          if (tops.size > 1) problems.push("breaks inside '" + m[0] + "'");
        }
      }
      if (el.classList.contains("psa-figure-value") && el.scrollWidth > el.clientWidth + 1)
        problems.push("figure wider than its card: " + el.innerText);
    });
  });
  return problems;
}"""


# A chart is a picture: it needs a text alternative (psa/app.js names each canvas by its figures).
CHARTS_UNNAMED = """() => Array.from(document.querySelectorAll("canvas[data-chart]"))
  .filter(c => c.getAttribute("role") !== "img" || !(c.getAttribute("aria-label") || "").trim()).length"""


def seed_demo() -> None:
    """The demo firm without the month-end and billing runs (those take most of a full seed's time): users,
    entities and rates, the pipeline, projects with time and expenses, and the ledger's months."""
    seed_users()
    core_demo.seed_entities(by=get_user_model().objects.get(username="admin"))
    core_demo.seed()
    crm_demo.seed()
    projects_demo.seed()
    ledger_demo.seed()


def _record_pages() -> dict[str, list[str]]:
    """A few pages of single records, per persona, beyond the menu."""
    account = Account.objects.order_by("pk").first()
    deal = Opportunity.objects.order_by("pk").first()
    project = Project.objects.order_by("pk").first()
    month = AccountingPeriod.objects.filter(status="open").order_by("start").first()
    return {
        "sales": [f"/crm/accounts/{account.pk}/", f"/crm/opportunities/{deal.pk}/", "/crm/import/"],
        "pm": [f"/projects/{project.pk}/"],
        "finance": [f"/ledger/month-end/{month.pk}/"],
        "admin": ["/settings/webhooks/"],
    }


# Pages that are not ours to fix: Django's admin and the Swagger UI of the API (drf-spectacular's template).
THIRD_PARTY = ("/admin/", "/api/docs/")


def _menu_urls(page) -> list[str]:
    hrefs = page.eval_on_selector_all("[data-testid=main-nav] a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h and h.startswith("/") and not h.startswith(THIRD_PARTY)]


# The webhook form's event checkboxes ran out of the card, over the Create button.
WEBHOOK_FORM_FITS = """() => {
  const group = document.querySelector("[data-testid=choices-event_types]");
  const card = group.closest(".card").getBoundingClientRect();
  const box = group.getBoundingClientRect();
  const button = group.closest("form").querySelector("button[type=submit]").getBoundingClientRect();
  const problems = [];
  if (box.right > card.right + 1 || group.scrollWidth > group.clientWidth + 1) problems.push("wider than its card");
  if (box.bottom > button.top) problems.push("overlaps the Create button");
  return problems;
}"""


def test_every_personas_pages_have_no_serious_accessibility_violation_and_home_figures_fit(browser, live_server):
    assert AXE.exists(), f"axe-core is missing at {AXE}: run `npm ci`"
    started = time.monotonic()
    seed_demo()
    extra = _record_pages()
    seeded = time.monotonic() - started

    checked: list[str] = []
    seen: set[str] = set()
    violations: list[str] = []
    misfits: list[str] = []
    for persona in PERSONAS:
        # bypass_csp: the Content Security Policy forbids inline scripts, and axe is injected as one.
        context = browser.new_context(
            viewport={"width": 1440, "height": 900}, base_url=live_server.url, bypass_csp=True
        )
        context.set_default_timeout(20000)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", persona)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_load_state("networkidle")

        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.goto("/")
            page.wait_for_load_state("networkidle")
            misfits += [f"{persona} home at {width}px: {p}" for p in page.evaluate(FIGURES_FIT)]
        page.set_viewport_size({"width": 1440, "height": 900})

        if persona == "admin":
            for width in (390, 1440):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto("/settings/webhooks/")
                misfits += [f"webhook form at {width}px: {p}" for p in page.evaluate(WEBHOOK_FORM_FITS)]
            page.set_viewport_size({"width": 1440, "height": 900})

        # Each persona's home, its record pages, and the first menu pages no persona before it showed (a page
        # several personas share is checked once): about 35 pages in all, to keep `make test` quick.
        fresh = [u for u in dict.fromkeys(_menu_urls(page)) if u not in seen and u != "/"][:PER_PERSONA]
        urls = ["/", *extra.get(persona, []), *fresh]
        seen.update(urls)
        for url in urls:
            response = page.goto(url)
            page.wait_for_load_state("networkidle")
            assert response is not None and response.status == 200, (persona, url, response and response.status)
            if page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1"):
                misfits.append(f"{persona} {url}: the page is wider than a 1440 px window")
            unnamed_charts = page.evaluate(CHARTS_UNNAMED)
            if unnamed_charts:
                violations.append(f"{persona} {url}: {unnamed_charts} chart(s) without a text alternative")
            page.add_script_tag(path=str(AXE))
            for v in page.evaluate(AXE_RUN):
                targets = "\n      ".join(v["targets"])
                violations.append(f"{persona} {url}: {v['impact']} {v['id']} ({v['help']})\n      {targets}")
            checked.append(f"{persona} {url}")
        context.close()

    elapsed = time.monotonic() - started
    print(f"\naxe-core: {len(checked)} pages in {elapsed:.0f} s (seed {seeded:.0f} s)")
    assert len(checked) >= MIN_PAGES, checked
    assert not violations, f"{len(violations)} serious/critical violations:\n" + "\n".join(violations)
    assert not misfits, "cards that do not fit their content:\n" + "\n".join(misfits)
