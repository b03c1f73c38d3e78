"""Knowledge-base search over 10,000 published articles (docs/benchmarks.md).

The data set: the 40 demo articles (through the service) plus generated ones up to 10,000
(times BENCH_SCALE), written like the demo articles (title, summary, tags, a Markdown body of
a few hundred words with steps, an error table and a note), inserted with batched
bulk_create and indexed as `manage.py kb_reindex` does (knowledge.search.index).

Metrics (p50 over every query x repeat), all through the one engine (knowledge.search):
- kb.search.{short,long,all}: the help-center search's list (article_answers) for short,
  typo-prone queries and longer ones;
- kb.suggest: the confident answers for tickets' subject + body (tier 0, the chat, the form);
- kb.api.search: GET /api/v1/kb/search through Django's test Client (logs the search);
- kb.http.suggest: GET /support/suggest/ (the contact form's live suggestions, HTML);
- kb.eval.top3: tests/knowledge/eval_set.py's queries against the 10,000 (the door-by-door
  evaluation on the demo knowledge base is tests/kb_eval, run by CI).
"""

import itertools
import os
import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tests.benchmarks.harness import (
    Context,
    Metric,
    p50,
    percentile,
    prepared,
    stopwatch,
    timings_ms,
)

FULL_SIZE = 10_000
SLUG_PREFIX = "bench-"
REPEAT = 5

# --- Generated articles -------------------------------------------------------------------
# Five kinds of article (how-to, troubleshooting, FAQ, limits, release notes) about topics
# of the demo categories; most sentences name the topic and its own words, a few are the
# boilerplate every knowledge base repeats.

PLATFORMS = [
    "Windows 11", "Windows 10", "Windows Server 2022", "macOS 14 Sonoma", "macOS 13 Ventura",
    "Ubuntu 22.04", "Debian 12", "RHEL 9", "Fedora 40", "iOS", "Android", "Chrome", "Firefox",
    "Safari", "Microsoft Edge", "Citrix", "VMware Horizon", "a terminal server",
]  # fmt: skip
PLANS = ["Starter", "Team", "Business", "Enterprise"]
MENUS = {
    "billing": ["Billing", "Billing details", "History", "Plan", "Tax information"],
    "payments-and-refunds": ["Billing", "Payment method", "History", "Refunds"],
    "account-access": ["Users", "Security", "Invitations", "Profile", "Sessions"],
    "sso-and-2fa": ["Security", "Single sign-on", "Two-factor", "Provisioning"],
    "connectivity": ["Network", "Proxy", "Diagnostics", "Sync"],
    "acme-connect": ["Acme Connect", "Gateways", "Certificates", "Diagnostics"],
    "installation": ["Downloads", "Devices", "Updates", "Deployment"],
    "using-the-product": ["Settings", "Notifications", "Folders", "Templates", "Import"],
    "reports-and-exports": ["Reports", "Dashboards", "Exports", "Schedules"],
    "api": ["Developers", "API tokens", "Webhooks", "Integrations", "OAuth apps"],
}
# Per category: (the thing an article is about, its tags, words that come with it).
TOPICS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "billing": [
        ("invoice", ["invoice", "billing"], ["line item", "billing period", "proration", "PDF"]),
        ("VAT number", ["vat", "tax"], ["VIES", "reverse charge", "country prefix", "tax ID"]),
        ("billing currency", ["currency", "billing"], ["EUR", "USD", "exchange rate", "renewal"]),
        ("seat adjustment", ["seats", "billing"], ["prorated charge", "new colleague", "seat"]),
        ("purchase order number", ["po", "invoice"], ["procurement", "PO reference", "vendor"]),
        ("credit note", ["credit", "invoice"], ["correction", "balance", "original invoice"]),
        ("plan upgrade", ["plan", "upgrade"], ["Business plan", "feature", "trial"]),
        ("annual renewal", ["renewal", "subscription"], ["auto-renew", "term", "quote"]),
        ("billing contact", ["billing", "contact"], ["accounts payable", "invoice copy"]),
        ("tax exemption certificate", ["tax", "exemption"], ["nonprofit", "certificate"]),
    ],
    "payments-and-refunds": [
        ("card payment", ["payment", "card"], ["declined charge", "3-D Secure", "issuing bank"]),
        ("SEPA Direct Debit", ["sepa", "payment"], ["IBAN", "mandate", "debit date"]),
        ("refund", ["refund", "billing"], ["duplicate charge", "cancellation", "original card"]),
        ("chargeback", ["chargeback", "dispute"], ["dispute evidence", "bank", "suspension"]),
        ("bank transfer", ["transfer", "payment"], ["remittance advice", "wire", "SWIFT"]),
        ("backup card", ["card", "payment"], ["default card", "retry", "expiry date"]),
        ("overdue invoice", ["overdue", "payment"], ["read-only mode", "dunning", "reminder"]),
    ],
    "account-access": [
        ("password", ["password", "login"], ["reset link", "forgot password", "sign-in page"]),
        ("invitation", ["invite", "users"], ["pending invitation", "expired link", "seat"]),
        ("guest account", ["guest", "users"], ["external collaborator", "shared folder"]),
        ("email address", ["email", "account"], ["confirmation email", "primary address"]),
        ("locked account", ["locked", "login"], ["failed attempts", "lockout", "unlock"]),
        ("user deactivation", ["users", "offboarding"], ["leaver", "data ownership"]),
        ("workspace owner", ["owner", "admin"], ["ownership transfer", "role", "billing admin"]),
        ("session timeout", ["session", "security"], ["idle time", "sign out", "remember me"]),
    ],
    "sso-and-2fa": [
        ("two-factor authentication", ["2fa", "security"], ["authenticator app", "TOTP code"]),
        ("recovery codes", ["2fa", "recovery"], ["lost phone", "backup codes"]),
        ("SAML single sign-on", ["sso", "saml"], ["IdP metadata", "signing certificate"]),
        ("Okta integration", ["sso", "okta"], ["Okta app", "assignment", "SAML assertion"]),
        ("Microsoft Entra ID", ["sso", "entra", "azure"], ["enterprise app", "claims"]),
        ("SCIM provisioning", ["scim", "provisioning"], ["bearer token", "group push"]),
        ("hardware security key", ["2fa", "webauthn"], ["YubiKey", "FIDO2", "passkey"]),
    ],
    "connectivity": [
        ("proxy settings", ["proxy", "network"], ["PAC file", "proxy authentication", "NTLM"]),
        ("firewall rules", ["firewall", "network"], ["port 443", "allowlist", "domains"]),
        ("DNS resolution", ["dns", "network"], ["resolver", "nslookup", "DNS cache"]),
        ("TLS inspection", ["tls", "certificate"], ["root certificate", "TLS handshake"]),
        ("sync", ["sync", "performance"], ["pending changes", "sync conflict", "queue"]),
        ("IPv6 connectivity", ["ipv6", "network"], ["dual stack", "fallback"]),
        ("bandwidth limit", ["bandwidth", "sync"], ["throttling", "upload speed"]),
        ("WebSocket connection", ["websocket", "network"], ["live updates", "upgrade header"]),
    ],
    "acme-connect": [
        ("Acme Connect tunnel", ["vpn", "acme-connect"], ["tunnel", "reconnect", "keepalive"]),
        ("split tunneling", ["vpn", "routing"], ["route table", "local network", "exclusion"]),
        ("VPN certificate", ["vpn", "certificate"], ["expired certificate", "trust store"]),
        ("MTU setting", ["vpn", "mtu"], ["fragmentation", "packet size", "1400"]),
        ("kill switch", ["vpn", "security"], ["network lock", "blocked traffic"]),
        ("gateway selection", ["vpn", "gateway"], ["region", "latency", "nearest gateway"]),
    ],
    "installation": [
        ("desktop client", ["install", "client"], ["installer", "client version", "reboot"]),
        ("silent installer", ["install", "deployment"], ["msiexec", "Intune", "switches"]),
        ("MSI package", ["msi", "windows"], ["Group Policy", "per-machine install"]),
        ("Homebrew cask", ["macos", "install"], ["brew", "Gatekeeper", "notarization"]),
        (".deb package", ["linux", "install"], ["apt repository", "signing key"]),
        ("automatic update", ["update", "client"], ["release channel", "rollback"]),
        ("offline installer", ["install", "offline"], ["air-gapped network", "checksum"]),
        ("system requirements", ["requirements", "install"], ["RAM", "disk space", "CPU"]),
    ],
    "using-the-product": [
        ("CSV import", ["import", "csv"], ["column mapping", "UTF-8", "delimiter"]),
        ("notification settings", ["notifications", "email"], ["daily digest", "mute"]),
        ("keyboard shortcuts", ["shortcuts", "productivity"], ["Ctrl", "Cmd", "command bar"]),
        ("shared folder", ["folders", "sharing"], ["folder permissions", "share link"]),
        ("template", ["templates", "productivity"], ["placeholder", "template gallery"]),
        ("comments", ["comments", "collaboration"], ["mention", "resolved thread"]),
        ("search filters", ["search", "filters"], ["saved search", "operators"]),
        ("dark mode", ["appearance", "settings"], ["theme", "contrast"]),
        ("calendar integration", ["calendar", "integration"], ["Google Calendar", "Outlook"]),
    ],
    "reports-and-exports": [
        ("report export", ["export", "reports"], ["CSV file", "XLSX", "row limit"]),
        ("scheduled report", ["reports", "schedule"], ["recipients", "weekly", "time zone"]),
        ("dashboard", ["dashboard", "reports"], ["widget", "refresh interval", "sharing"]),
        ("pivot table", ["reports", "pivot"], ["grouping", "totals", "columns"]),
        ("Excel export", ["export", "excel"], ["encoding", "formulas", "XLSX"]),
        ("audit log export", ["audit", "export", "security"], ["retention", "SIEM"]),
    ],
    "api": [
        ("API token", ["api", "token"], ["token scope", "expiry", "revoke"]),
        ("rate limit", ["api", "limits"], ["429", "Retry-After", "requests per minute"]),
        ("webhook", ["webhooks", "api"], ["signature header", "delivery retries", "endpoint"]),
        ("OAuth app", ["oauth", "api"], ["client secret", "redirect URI", "consent screen"]),
        ("pagination", ["api", "pagination"], ["cursor", "page size", "next link"]),
        ("Zapier integration", ["zapier", "integration"], ["trigger", "zap", "action"]),
        ("Slack integration", ["slack", "integration"], ["Slack channel", "bot"]),
        ("REST endpoint", ["api", "rest"], ["JSON body", "HTTP 400", "content type"]),
    ],
}
SYMPTOMS = [
    "fails with a timeout", "keeps disconnecting", "is very slow", "does not start",
    "shows a blank page", "returns HTTP 403", "returns HTTP 500", "is stuck on loading",
    "is missing after the update", "shows the wrong data", "stopped working",
    "asks for the password again", "cannot be found", "is greyed out", "sends duplicates",
]  # fmt: skip
VERBS = [
    "Set up", "Change", "Configure", "Remove", "Reset", "Update", "Enable", "Disable",
    "Troubleshoot", "Manage", "Verify", "Migrate",
]  # fmt: skip
BUTTONS = ["Save", "Apply", "Continue", "Confirm", "Edit", "Add", "Test connection", "Retry"]
GERUNDS = ["saving", "opening", "exporting", "syncing", "connecting", "importing", "signing in"]
# About the article's own topic: {obj} the topic, {w} / {v} two of its words.
SPECIFIC = [
    "The {obj} is set per workspace, and the {w} is shown next to it.",
    "Most questions about the {obj} come down to the {w}.",
    "If the {obj} {symptom}, look at the {w} first.",
    "You can change the {w} without touching the {v}.",
    "Changing the {obj} also resets the {w}.",
    "The {w} must match the {v}, or the {obj} is refused.",
    "We show a warning when the {w} is about to expire.",
    "For the {obj}, the {w} and the {v} are checked in that order.",
    "Admins see the {w} of every user under **Admin > {menu}**.",
    "A wrong {w} is the most common reason the {obj} {symptom}.",
    "The {obj} on {platform} reads the {w} from the system settings.",
    "Since version {ver}, the {v} is filled in automatically.",
    "Export the {w} before you change the {obj}, so you can compare afterwards.",
    "If you use the {v}, the {obj} behaves differently; see the table below.",
    "Tell your users before you change the {obj}: they will notice the {w}.",
    "The {obj} history lists every change to the {w}, with who made it.",
]  # fmt: skip
# What every knowledge base repeats; a few of these per article.
BOILERPLATE = [
    "Only Owners and admins can change this setting; other users see it read-only.",
    "Changes apply to every member of the workspace within a few minutes.",
    "If you manage devices centrally, push the setting with your deployment tool instead.",
    "Keep a note of the previous value in case you need to roll back.",
    "Some corporate networks block this by default; ask your IT team to allow it.",
    "The same steps work in the web app and the desktop client.",
    "We record every change in the audit log.",
    "On the Starter plan this option is not available.",
    "Sign out and back in if the old value is still shown.",
    "Large workspaces can take up to an hour before every device has the new value.",
    "Screenshots in this article show the web app.",
    "Users get an email when an admin changes this for them.",
    "Third-party security software sometimes interferes; add an exception for the client.",
    "If several admins edit this at once, the last change wins.",
    "Mobile apps follow the workspace setting and cannot override it.",
    "Check our status page before you change anything: it may be an incident on our side.",
    "When you contact support, include the request id shown in the error.",
    "This feature is in beta for Enterprise customers.",
    "Guests never see this option.",
    "Our support team can do this for you if you cannot reach the admin console.",
    "The change is free of charge and does not affect your invoice.",
    "We keep the old value for 30 days, so it can be restored.",
    "Device policies from your MDM override what users choose here.",
    "Browser extensions that block scripts can hide this page; try a private window.",
]  # fmt: skip
CAUSES = [
    "an outdated client", "a proxy that rewrites the request", "a missing permission",
    "an expired certificate", "a typo in the value", "a policy pushed by your IT team",
    "a clock that is several minutes off", "a cached old value", "a firewall rule",
    "a browser extension", "a limit of your plan", "an incident on our side",
]  # fmt: skip
FIXES = [
    "Check the value again and save it", "Ask an admin to grant access",
    "Update the client to the latest version", "Allow the domain in your firewall",
    "Clear the local cache and restart", "Wait five minutes and retry",
    "Re-enter the credentials", "Contact support with the request id",
]  # fmt: skip
QUESTIONS = [
    "Who can change the {obj}?", "Does the {obj} cost extra?",
    "Why is the {w} different from last month?", "Can I undo a change to the {obj}?",
    "Does the {obj} work on {platform}?", "What happens to the {v} when a user leaves?",
    "How long does a change to the {w} take?", "Can guests see the {obj}?",
    "Is the {w} included in the audit log?", "Where do I find the {v}?",
]  # fmt: skip


def _fill(rng: random.Random, category: str, obj: str, words: list[str]) -> dict[str, str]:
    w, v = rng.sample(words, 2) if len(words) > 1 else (words[0], words[0])
    return {
        "obj": obj, "w": w, "v": v, "menu": rng.choice(MENUS[category]),
        "platform": rng.choice(PLATFORMS), "symptom": rng.choice(SYMPTOMS),
        "ver": f"{rng.randint(3, 9)}.{rng.randint(0, 12)}", "plan": rng.choice(PLANS),
    }  # fmt: skip


def _specific(rng: random.Random, category: str, obj: str, words: list[str], n: int) -> str:
    return " ".join(s.format(**_fill(rng, category, obj, words)) for s in rng.sample(SPECIFIC, n))


def _steps(rng: random.Random, category: str, obj: str, words: list[str]) -> str:
    f = _fill(rng, category, obj, words)
    steps = [
        f"Go to **Admin > {f['menu']} > {rng.choice(MENUS[category])}**.",
        f"Find the {obj} in the list; use the search box in large workspaces.",
        f"Click **{rng.choice(BUTTONS)}** next to *{f['w']}*.",
        f"Enter the {f['v']} and check the {f['w']}.",
        f"Click **{rng.choice(BUTTONS)}**. A confirmation appears at the top of the page.",
        f"On {f['platform']}, restart the client to pick up the change.",
        "Ask one affected user to sign out and back in, then test again.",
    ]
    chosen = steps[: rng.randint(3, 7)]
    return "\n".join(f"{i}. {s}" for i, s in enumerate(chosen, 1))


def _errors(rng: random.Random, obj: str, words: list[str], code: str) -> str:
    rows = [
        f"| `{code}` | {rng.choice(FIXES)} |",
        f"| `The {obj} {rng.choice(SYMPTOMS)}` | {rng.choice(FIXES)} |",
        f"| `{rng.choice(words)} not accepted` | {rng.choice(FIXES)} |",
    ]
    table = "| Message | What to do |\n|---------|------------|\n"
    return "## Common errors\n\n" + table + "\n".join(rows[: rng.randint(2, 3)])


def _body(rng: random.Random, category: str, obj: str, words: list[str], code: str) -> str:
    kind = rng.choice(["howto", "howto", "troubleshoot", "troubleshoot", "faq", "limits", "news"])
    boiler = lambda n: " ".join(rng.sample(BOILERPLATE, n))  # noqa: E731
    spec = lambda n: _specific(rng, category, obj, words, n)  # noqa: E731
    f = _fill(rng, category, obj, words)
    parts = [spec(4) + " " + boiler(2)]
    if kind == "howto":
        parts += [f"## Before you start\n\n{spec(2)}", f"## {rng.choice(VERBS)} the {obj}"]
        parts += [_steps(rng, category, obj, words), spec(2) + " " + boiler(2)]
        if rng.random() < 0.5:
            parts.append(_errors(rng, obj, words, code))
    elif kind == "troubleshoot":
        causes = rng.sample(CAUSES, 3)
        parts += [
            f"## Symptoms\n\n- The {obj} {f['symptom']}.\n- Users on {f['platform']} see `{code}`."
            f"\n- The {f['w']} is not updated.",
            f"## Cause\n\nUsually {causes[0]}, sometimes {causes[1]} or {causes[2]}. " + spec(2),
            "## Resolution",
            _steps(rng, category, obj, words),
            _errors(rng, obj, words, code),
            f"## If it still does not work\n\n{boiler(2)} Send us the {f['w']} and the time "
            f"it happened, and mention `{code}`.",
        ]
    elif kind == "faq":
        for question in rng.sample(QUESTIONS, rng.randint(4, 6)):
            parts.append(f"### {question.format(**_fill(rng, category, obj, words))}")
            parts.append(spec(3) + (" " + boiler(1) if rng.random() < 0.4 else ""))
    elif kind == "limits":
        rows = "\n".join(
            f"| {plan} | {rng.choice([5, 10, 50, 100, 500, 1000]) * (i + 1)} | "
            f"{rng.choice(['yes', 'no', 'on request'])} |"
            for i, plan in enumerate(PLANS)
        )
        parts += [
            f"## Limits by plan\n\n| Plan | {f['w'].capitalize()} | {f['v'].capitalize()} |\n"
            f"|------|------|------|\n{rows}",
            spec(3) + " " + boiler(2),
            f"## When you reach a limit\n\n{spec(2)} The error is `{code}`.",
        ]
    else:
        changes = "\n".join(f"- {spec(1)}" for _ in range(rng.randint(3, 6)))
        parts += [
            f"## What changed in version {f['ver']}\n\n{changes}",
            f"## What you need to do\n\n{spec(2)} {boiler(2)}",
        ]
    parts.append(f"> **Note:** {boiler(1)} {spec(1)}")
    return "\n\n".join(parts) + "\n"


def _title(rng: random.Random, obj: str, platform: str, code: str) -> str:
    cap = obj[0].upper() + obj[1:]
    return rng.choice(
        [
            f"{rng.choice(VERBS)} the {obj}",
            f"{cap} {rng.choice(SYMPTOMS)} on {platform}",
            f"Error {code} when {rng.choice(GERUNDS)} the {obj}",
            f"{cap}: frequently asked questions",
            f"{cap} limits on the {rng.choice(PLANS)} plan",
            f"Why the {obj} {rng.choice(SYMPTOMS)}",
            f"Troubleshooting the {obj} on {platform}",
            f"{cap} in version {rng.randint(3, 9)}.{rng.randint(0, 12)}: what changed",
        ]
    )


def generated_articles(count: int, categories: dict[str, Any], seed: int = 7) -> list[Any]:
    """`count` unsaved, published Articles (the same ones for the same seed)."""
    from django.utils import timezone

    from knowledge.markdown import plain_text, render_markdown
    from knowledge.models import Article, ArticleStatus, Visibility

    rng = random.Random(seed)
    now = timezone.now()
    names = list(TOPICS)
    articles = []
    for number in range(count):
        category = names[number % len(names)]
        obj, tags, words = rng.choice(TOPICS[category])
        code = rng.choice(
            [f"ACW-{rng.randint(1000, 9999)}", f"0x8007{rng.randint(0, 0xFFFF):04X}",
             f"HTTP {rng.choice([400, 401, 403, 404, 409, 429, 500, 502, 503])}"]
        )  # fmt: skip
        title = _title(rng, obj, rng.choice(PLATFORMS), code)
        body = _body(rng, category, obj, words, code)
        summary = (
            f"{rng.choice(['How to handle', 'What to know about', 'Fixing problems with'])} "
            f"the {obj}: {rng.choice(words)}, {rng.choice(words)} and common errors."
        )
        articles.append(
            Article(
                title=title[:200],
                slug=f"{SLUG_PREFIX}{number}",
                category=categories[category],
                summary=summary[:500],
                body_markdown=body,
                body_html="",  # rendered below, on every core
                tags=", ".join(dict.fromkeys([*tags, *rng.sample(words, 1)])),
                status=ArticleStatus.PUBLISHED,
                visibility=Visibility.AGENTS if rng.random() < 0.1 else Visibility.PUBLIC,
                published_at=now,
            )
        )
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        rendered = pool.map(render_markdown, [a.body_markdown for a in articles], chunksize=200)
        for article, html in zip(articles, rendered, strict=True):
            article.body_html = html
            article.body_text = plain_text(html)
    return articles


def build(ctx: Context, total: int) -> None:
    from django.db import transaction

    from knowledge.demo import load_demo_knowledge_base
    from knowledge.models import Article, Category
    from knowledge.search.index import reindex_all

    with transaction.atomic():
        # Another scale's articles would otherwise be searched too.
        Article.objects.filter(slug__startswith=SLUG_PREFIX).delete()
        load_demo_knowledge_base()
        categories = {c.slug: c for c in Category.objects.all()}
        count = max(0, total - Article.objects.count())
        with stopwatch() as took:
            articles = generated_articles(count, categories)
        ctx.log(f"kb: {len(articles)} articles generated and rendered in {took['seconds']:.1f} s")
        with stopwatch() as took:
            Article.objects.bulk_create(articles, batch_size=1000)
        ctx.log(f"kb: inserted in {took['seconds']:.1f} s")
        with stopwatch() as took:
            indexed = reindex_all()  # what `manage.py kb_reindex` does
        ctx.log(f"kb: {indexed} articles indexed in {took['seconds']:.1f} s")


# --- What people search for -------------------------------------------------------------

SHORT_QUERIES = [
    "pasword reset", "invoce", "vpn disconects", "okta sso", "refund", "2fa lost phone",
    "export csv", "api tokn", "proxy", "dns error", "silent install", "chargeback",
    "sepa mandate", "keyboard shortcuts", "rate limit", "scim", "vat number", "locked account",
]  # fmt: skip
LONG_QUERIES = [
    "how do I change the VAT number printed on our invoices",
    "the desktop client keeps disconnecting from Acme Connect every few minutes",
    "we were charged twice this month and want a refund",
    "how to deploy the client silently with Intune on Windows 11",
    "export of a large report fails with HTTP 500",
    "new employee never received the invitation email",
    "set up single sign-on with Microsoft Entra ID for the whole company",
    "sync is stuck with pending changes behind our corporate proxy",
    "which firewall ports and domains do we need to allow",
    "api requests return 429 too many requests what is the limit",
    "lost my phone with the authenticator app and cannot sign in",
    "schedule a weekly report to the finance team",
]  # fmt: skip
TICKETS = [
    (
        "Invoice higher than usual",
        "Hello, this month's invoice is 90 euros more than last month and we did not add "
        "anyone as far as I know. Can you explain the extra line? Thanks, Maria",
    ),
    (
        "VPN drops constantly",
        "Since yesterday Acme Connect disconnects every 5 minutes on my Windows 11 laptop. "
        "I'm working from home on wifi. Reconnecting works but it drops again. Error 809.",
    ),
    (
        "Can't log in",
        "Hi, I forgot my password and the reset email never arrives. I checked spam. "
        "Now it says my account is locked. Please help, I have a deadline today.",
    ),
    (
        "Refund request",
        "We cancelled our annual plan 3 days after the renewal because we moved to another "
        "tool. Can we get our money back? The card was charged on the 1st.",
    ),
    (
        "SSO with Okta not working",
        "We configured SAML SSO with Okta following your guide but users get 'assertion "
        "invalid' after signing in at Okta. Metadata was uploaded. What is wrong?",
    ),
    (
        "Export fails",
        "When I export our sales report to Excel it fails with HTTP 500. Smaller reports "
        "work. The report has around 80,000 rows.",
    ),
    (
        "API limit",
        "Our integration gets 429 responses from your API since this morning. How many "
        "requests per minute are allowed and how should we retry?",
    ),
    (
        "Client does not start after update",
        "After the automatic update to the latest version the desktop client on macOS "
        "Sonoma does not start any more. It bounces in the dock and closes.",
    ),
    (
        "Proxy",
        "Our company uses an authenticated proxy with a PAC file. The desktop client "
        "cannot sync, it says connection timed out. Browser works fine.",
    ),
    (
        "New colleague invitation",
        "I invited a new colleague two weeks ago but she says the invitation link has "
        "expired. How do I send a new one? Also does she take a paid seat?",
    ),
    (
        "Card declined",
        "Our renewal payment failed, the email says card_declined do_not_honor. The "
        "workspace is now read only! How do we pay right away?",
    ),
    (
        "Lost 2FA phone",
        "I lost my phone with the authenticator app and I don't have the recovery codes. "
        "How can I get back into my account?",
    ),
]


def _search_samples(queries: list[str], *, repeat: int) -> list[float]:
    from knowledge.selectors import article_answers

    samples: list[float] = []
    for query in queries:
        samples += timings_ms(lambda q=query: article_answers(q), repeat=repeat, warmup=1)
    return samples


def _suggest_samples(*, repeat: int) -> list[float]:
    from knowledge.selectors import article_answers

    samples: list[float] = []
    for subject, body in TICKETS:
        text = f"{subject}\n{body}"
        samples += timings_ms(
            lambda t=text: article_answers(t, limit=3, confident=True), repeat=repeat, warmup=1
        )
    return samples


def _http_samples(*, repeat: int) -> tuple[list[float], list[float]]:
    from django.test import Client

    client = Client()
    api: list[float] = []
    addresses = (f"10.8.{n // 250}.{n % 250 + 1}" for n in itertools.count())
    for query in SHORT_QUERIES + LONG_QUERIES:

        def search(q: str = query) -> None:
            # Many customers searching, one request each: the per-address limit for
            # anonymous clients (60 a minute) still runs, and is not what this measures.
            response = client.get("/api/v1/kb/search", {"q": q}, REMOTE_ADDR=next(addresses))
            assert response.status_code == 200, response.status_code

        api += timings_ms(search, repeat=repeat, warmup=1)
    form: list[float] = []
    for number, (subject, body) in enumerate(TICKETS):
        # One customer (address) per ticket text: the form's per-address rate limit.
        def suggest(s: str = subject, b: str = body, n: int = number) -> None:
            response = client.get(
                "/support/suggest/", {"subject": s, "description": b}, REMOTE_ADDR=f"10.9.0.{n}"
            )
            assert response.status_code == 200, response.status_code

        form += timings_ms(suggest, repeat=repeat, warmup=1)
    return api, form


def _metric(name: str, samples: list[float], **extra: Any) -> Metric:
    return Metric(
        name, p50(samples), "ms", len(samples),
        {"p95": round(percentile(samples, 0.95), 3), "max": round(max(samples), 3), **extra},
    )  # fmt: skip


def _eval_top3() -> tuple[float, int]:
    from knowledge.selectors import article_answers
    from tests.knowledge.eval_set import EVAL_SET

    found = sum(
        expected in [hit.article.slug for hit in article_answers(query, limit=3)]
        for query, expected in EVAL_SET
    )
    return found / len(EVAL_SET), len(EVAL_SET)


def run(ctx: Context) -> Iterator[Metric]:
    from django.db import connection

    from knowledge.models import Article

    total = ctx.scaled(FULL_SIZE, minimum=100)
    name = "kb-index"  # the data set since the search index (knowledge.search) came
    with connection.cursor() as cursor:  # one kb data set at a time in the shared tables
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (key text PRIMARY KEY, built_at timestamptz)"
        )
        cursor.execute(
            "DELETE FROM bench_dataset WHERE key LIKE %s AND key <> %s",
            [f"{name}@%", f"{name}@{ctx.scale:g}"],
        )
    built: list[bool] = []
    prepared(name, ctx.scale, lambda: built.append(True) or build(ctx, total), ctx)
    if built:  # the steady state of a live table: dead rows of the build vacuumed away
        with connection.cursor() as cursor:
            for table in ("knowledge_article", "knowledge_articleterm", "knowledge_searchterm"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
    articles = Article.objects.filter(status="published").count()
    size = {"articles": articles, "load_average": round(os.getloadavg()[0], 2)}
    short = _search_samples(SHORT_QUERIES, repeat=REPEAT)
    long = _search_samples(LONG_QUERIES, repeat=REPEAT)
    yield _metric("kb.search.short", short, queries=len(SHORT_QUERIES), **size)
    yield _metric("kb.search.long", long, queries=len(LONG_QUERIES), **size)
    yield _metric("kb.search", short + long, target_ms=15, **size)
    yield _metric("kb.suggest", _suggest_samples(repeat=REPEAT), target_ms=25, **size)
    api, form = _http_samples(repeat=REPEAT)
    yield _metric("kb.api.search", api, **size)
    yield _metric("kb.http.suggest", form, **size)
    share, n = _eval_top3()
    yield Metric("kb.eval.top3", share * 100, "%", n, {**size, "demo_only_target": 90})
