"""What customers see of a known issue: the banner on the help center, the contact form and
the chat; the status page; "tell me when it's fixed" without a ticket, counted as deflected."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import AgentFactory
from tests.outages import cache_down  # noqa: F401 (a fixture)
from tickets.models import KnownIssue, KnownIssueSubscriber, Product, Service
from tickets.problems import known_issues
from tickets.problems import services as problems
from tickets.roles import LEADS_GROUP
from tickets.selectors import customer_for_user

pytestmark = pytest.mark.django_db

BANNER = 'aria-label="Known issues"'
FIX_AT = datetime(2030, 5, 6, 14, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _afresh() -> None:
    known_issues.forget()


@pytest.fixture
def fibre(db: None) -> Product:
    return Product.objects.create(name="Fibre broadband")


@pytest.fixture
def publish(agent: Any, fibre: Product) -> Any:
    def publish_(title: str = "Fibre down in Leeds", **fields: Any) -> KnownIssue:
        problem = problems.problem_create(title=title, actor=agent)
        values: dict[str, Any] = {
            "summary": "Lines in Leeds are down since 9:00. Engineers are on site.",
            "products": [fibre],
            "regions": ["Leeds", "North"],
            "expected_fix_at": FIX_AT,
        }
        return known_issues.known_issue_publish(
            problem=problem, actor=agent, title=title, **{**values, **fields}
        )

    return publish_


def _page(client: Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return unescape(response.content.decode())


def _queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as seen:
        assert client.get(path).status_code == 200
    return len(seen)


def _post(client: Client, issue: KnownIssue | int, contact: str, **extra: Any) -> Any:
    issue_id = issue if isinstance(issue, int) else issue.pk
    return client.post(f"/status/{issue_id}/notify/", {"contact": contact}, **extra)


def test_the_banner_asks_the_database_nothing_when_nothing_is_published(
    client: Client, settings: Any, django_assert_num_queries: Any, make_kb_article: Any
) -> None:
    make_kb_article("Reset your router", "Hold the button for ten seconds.")
    pages = ["/kb/", "/kb/basics/", "/kb/search/?q=router"]
    processors = settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    banner = "tickets.problems.context.known_issues_banner"
    assert banner in processors
    without = {}
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "OPTIONS": {"context_processors": [p for p in processors if p != banner]},
        }
    ]
    for path in pages:
        _queries(client, path)  # the session and the like settle
        without[path] = _queries(client, path)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "OPTIONS": {"context_processors": processors}}]
    _queries(client, "/kb/")  # a process reads them once, then keeps them

    for path in pages:
        with django_assert_num_queries(without[path]):
            html = unescape(client.get(path).content.decode())
        assert BANNER not in html


def test_the_banner_shows_what_is_published_on_every_customer_page(
    client: Client, publish: Any, make_kb_article: Any
) -> None:
    article = make_kb_article("Reset your router", "Hold the button for ten seconds.")
    publish()

    for path in [
        "/kb/",
        f"/kb/basics/{article.slug}/",
        "/kb/basics/",
        "/kb/search/?q=router",
        "/support/new/",
        "/support/chat/",
    ]:
        html = _page(client, path)
        assert BANNER in html, path
        assert "Known issue: Fibre down in Leeds" in html
        assert "Lines in Leeds are down since 9:00. Engineers are on site." in html
        assert "Fibre broadband in Leeds, North" in html
        assert "6 May 2030, 14:30 UTC" in html  # as notices promise times
        assert 'href="/status/"' in html
    # Inside the chat widget's frame the links open outside it.
    embedded = _page(client, "/support/chat/?embed=1")
    assert re.search(r'href="/status/#known-issue-\d+" target="_blank" rel="noopener"', embedded)
    # Agents' pages have no banner.
    client.force_login(AgentFactory(tiers=[1]))
    assert BANNER not in _page(client, "/agent/queue/mine/")


def test_a_signed_in_customer_is_shown_the_issues_that_affect_their_services(
    client: Client, publish: Any, fibre: Product, customer_user: Any
) -> None:
    """Visitors, and customers whose services the desk does not know, see every issue."""
    mobile = Product.objects.create(name="Mobile")
    publish()  # fibre, in Leeds and the North
    publish(title="Mobile data slow", products=[mobile], regions=[])
    publish(title="Portal maintenance tonight", products=[], regions=[])  # everyone
    every = {"Fibre down in Leeds", "Mobile data slow", "Portal maintenance tonight"}

    def shown() -> set[str]:
        """On the help center's banner, and the same through the public API."""
        banner = set(re.findall(r"Known issue: ([^<]+)</strong>", _page(client, "/kb/")))
        listed = {issue["title"] for issue in client.get("/api/v1/known-issues/").json()}
        assert banner == listed
        return banner

    assert shown() == every  # a visitor
    client.force_login(customer_user)
    assert shown() == every  # no services known
    customer = customer_for_user(customer_user)
    Service.objects.create(customer=customer, product=fibre, identifier="FB-1", region="Leeds")
    assert shown() == {"Fibre down in Leeds", "Portal maintenance tonight"}
    Service.objects.filter(customer=customer).update(region="Bristol")
    assert shown() == {"Portal maintenance tonight"}
    Service.objects.create(customer=customer, product=mobile, identifier="M-1", region="Bristol")
    assert shown() == {"Mobile data slow", "Portal maintenance tonight"}


def test_the_banner_is_read_again_once_a_known_issue_ends(
    client: Client, publish: Any, agent: Any, django_assert_num_queries: Any
) -> None:
    issue = publish(regions=[], products=[], expected_fix_at=None)
    html = _page(client, "/kb/")
    assert "Known issue: Fibre down in Leeds" in html
    assert "All customers" in html and "Expected fix" not in html

    known_issues.known_issue_end(problem=issue.problem, actor=agent)

    assert BANNER not in _page(client, "/kb/")


def test_the_status_page_lists_current_issues_and_those_fixed_in_the_last_14_days(
    client: Client, publish: Any, agent: Any
) -> None:
    now = timezone.now()
    publish()
    fixed = publish("Email delays", summary="Mail arrives late.", regions=[], expected_fix_at=None)
    problems.problem_solve(
        problem=fixed.problem, actor=agent, answer="Fixed.", now=now - timedelta(days=2)
    )
    withdrawn = publish("Slow logins", summary="Logins take long.", products=[])
    known_issues.known_issue_end(problem=withdrawn.problem, actor=agent)
    old = publish("Old outage", summary="Long ago.")
    problems.problem_solve(
        problem=old.problem, actor=agent, answer="Fixed.", now=now - timedelta(days=15)
    )

    html = _page(client, "/status/")

    assert "<h1>Service status</h1>" in html
    current, ended = html.split("Fixed in the last 14 days")
    assert "Fibre down in Leeds" in current and "Email delays" not in current
    assert "Fibre broadband in Leeds, North" in current and "6 May 2030, 14:30 UTC" in current
    assert '<label for="notify-' in current and "csrfmiddlewaretoken" in current
    assert "Email delays</strong>: fixed" in ended
    assert "Fibre broadband (everywhere). Mail arrives late." in ended
    assert "Slow logins</strong>: no longer affecting service" in ended
    assert "Old outage" not in html
    assert 'href="/status/"' in _page(client, "/kb/")  # the header links to it


def test_the_status_page_says_when_all_is_well(client: Client) -> None:
    html = _page(client, "/status/")
    assert "No known issues right now" in html
    assert "Nothing in the last 14 days." in html


def test_asking_to_be_told_by_email_needs_no_ticket(client: Client, publish: Any) -> None:
    issue = publish()

    response = _post(client, issue, " Ann@Example.com ", follow=True)

    subscriber = KnownIssueSubscriber.objects.get()
    assert (subscriber.known_issue_id, subscriber.kind, subscriber.address) == (
        issue.pk, "email", "ann@example.com",
    )  # fmt: skip
    assert subscriber.customer is None and subscriber.notified_at is None
    assert response.redirect_chain[-1][0] == f"/status/#known-issue-{issue.pk}"
    assert "We will email ann@example.com once, when it is fixed." in unescape(
        response.content.decode()
    )
    # Asking twice is asking once.
    _post(client, issue, "ann@example.com")
    assert KnownIssueSubscriber.objects.count() == 1


def test_a_mobile_number_is_texted_and_a_signed_in_customer_is_linked(
    client: Client, publish: Any, customer_user: Any, settings: Any
) -> None:
    settings.HELPDESK_PHONE_REGION = "GB"
    issue = publish()
    client.force_login(customer_user)
    assert f'value="{customer_user.email}"' in _page(client, "/status/")  # offered

    response = _post(client, issue, "07700 900123", follow=True)

    subscriber = KnownIssueSubscriber.objects.get()
    assert (subscriber.kind, subscriber.address) == ("phone", "+447700900123")
    assert subscriber.customer == customer_for_user(customer_user)
    assert "We will text +447700900123 once" in unescape(response.content.decode())


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("not a number", "Enter a mobile number we can text, with its country code"),
        ("ann@", "Enter an email address like name@example.com."),
        ("", "This field is required."),
    ],
)
def test_bad_input_is_explained_and_what_was_typed_is_kept(
    client: Client, publish: Any, typed: str, error: str
) -> None:
    issue = publish()

    response = _post(client, issue, typed)

    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert error in html
    assert "<title>Error: Service status · Support</title>" in html  # the brand's name
    field = re.search(rf'<input[^>]*id="notify-{issue.pk}-contact"[^>]*>', html).group(0)
    assert f'value="{typed}"' in field or not typed
    assert 'aria-invalid="true"' in field
    assert not KnownIssueSubscriber.objects.exists()


def test_an_issue_fixed_meanwhile_says_so(client: Client, publish: Any, agent: Any) -> None:
    issue = publish()
    problems.problem_solve(problem=issue.problem, actor=agent, answer="Fixed.")

    response = _post(client, issue, "ann@example.com", follow=True)

    assert "This issue is fixed already, or no longer known." in unescape(response.content.decode())
    assert _post(client, 999_999, "ann@example.com").status_code == 302
    assert not KnownIssueSubscriber.objects.exists()


def test_asking_is_rate_limited_and_loses_what_was_typed_in_no_case(
    client: Client, publish: Any, settings: Any
) -> None:
    settings.HELPDESK_WEB_FORM_PER_10_MINUTES = 2
    issue = publish()
    for n in range(2):
        assert _post(client, issue, f"person{n}@example.com").status_code == 302

    response = _post(client, issue, "third@example.com")

    assert response.status_code == 429
    html = unescape(response.content.decode())
    assert "You asked several times in a short time" in html
    assert 'value="third@example.com"' in html
    assert KnownIssueSubscriber.objects.count() == 2


@pytest.mark.usefixtures("cache_down")
def test_asking_is_taken_while_the_cache_is_down(client: Client, publish: Any) -> None:
    # Redis (the limit's counters) unreachable: the request is taken, not a server error.
    issue = publish()

    response = _post(client, issue, "ann@example.com", follow=True)

    assert "We will email ann@example.com once, when it is fixed." in unescape(response.text)
    assert KnownIssueSubscriber.objects.get().address == "ann@example.com"


def test_asking_needs_the_csrf_token(publish: Any) -> None:
    issue = publish()
    strict = Client(enforce_csrf_checks=True)

    assert _post(strict, issue, "ann@example.com").status_code == 403
    assert not KnownIssueSubscriber.objects.exists()
    assert strict.get(f"/status/{issue.pk}/notify/").status_code == 405


def test_subscriptions_count_as_deflected_in_the_reports(
    client: Client, publish: Any, admin_user: Any
) -> None:
    issue = publish()
    for n in range(3):
        _post(client, issue, f"person{n}@example.com")
    lead = AgentFactory(tiers=[1])
    lead.groups.add(Group.objects.get(name=LEADS_GROUP))
    client.force_login(lead)
    today = timezone.localdate().isoformat()

    html = _page(client, f"/agent/reports/tiers/?since={today}&until={today}")

    row = re.search(
        r"Known issues: “tell me when it is fixed” instead of a ticket(.*?)</tr>", html, re.S
    )
    assert row and re.search(r">3<", row.group(1))
    figures = re.search(r"Answered by self-service</dt>\s*<dd[^>]*>(.*?)</dd>", html, re.S)
    assert figures and "3" in figures.group(1)
    client.force_login(admin_user)
    admin_page = _page(client, "/admin/reports/self-service/?days=7")
    assert "3 of 3 requests were answered by self-service." in admin_page
