"""Requests a user (or a robot) can make that once ended in a server error: each gets a
clear 4xx answer, in the API's error shape under /api/."""

import json

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/kb/search/", "/agent/kb/"])
def test_a_nul_character_in_a_search_is_answered(client, agent, url):
    client.force_login(agent)
    response = client.get(url, {"q": "vpn\x00drops"})
    assert response.status_code in (200, 400)


def test_deeply_nested_json_is_a_400_in_the_error_shape(agent_api):
    deep = "[" * 100_000 + "]" * 100_000
    response = agent_api.generic("POST", "/api/v1/tickets/", deep, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("parse_error", "invalid")


@pytest.mark.parametrize("path", ["/api/v1/tickets/abc/", "/api/v1/customers/1e3/"])
def test_an_id_that_is_not_a_number_is_a_json_404(agent_api, path):
    response = agent_api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_malformed_json_to_a_provider_webhook_is_a_400(client, settings):
    import base64

    settings.ANYMAIL = {"WEBHOOK_SECRET": "hooks:s3cret"}
    auth = base64.b64encode(b"hooks:s3cret").decode()
    response = client.post(
        "/anymail/postmark/inbound/",
        data='{"From": "ann@example.com", "Subject": ',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )
    assert response.status_code == 400
    response = client.post(
        "/anymail/postmark/inbound/",
        data=json.dumps(["not", "an", "object"]),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )
    assert response.status_code == 400


HUGE = 2**70  # past a 64-bit column: SQLite overflows where PostgreSQL finds nothing


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/v1/tickets/{HUGE}/"),
        ("post", f"/api/v1/tickets/{HUGE}/side-conversations/1/close/"),
        ("post", f"/api/v1/tickets/{HUGE}/side-conversations/1/messages/"),
        ("post", f"/api/v1/tickets/1/side-conversations/{HUGE}/close/"),
    ],
)
def test_an_id_past_the_columns_range_is_a_json_404(agent_api, method, path):
    response = getattr(agent_api, method)(path, {"text": "Any news?"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# A number no row can have: a digit to str.isdigit that int() does not read, and one past a
# 64-bit column (SQLite, the embedded default, cannot even compare it).
FORGED_NUMBERS = ["²", "99999999999999999999999"]


@pytest.fixture
def admin_browser(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("forged", FORGED_NUMBERS)
def test_a_forged_number_in_a_page_address_is_answered(admin_browser, api, forged):
    for url, params in [
        ("/agent/queue/all/", {"q": f"HD-{forged}"}),
        ("/agent/audit/", {"before": forged}),
        ("/support/solved-it/done/", {"article": forged}),
    ]:
        assert admin_browser.get(url, params).status_code < 500, url
    assert api.get("/api/v1/kb/search", {"q": f"HD-{forged}"}).status_code == 200


@pytest.mark.parametrize("forged", FORGED_NUMBERS)
def test_a_forged_number_in_a_form_is_refused_with_a_message(
    admin_browser, admin_api, open_ticket, forged
):
    ticket = open_ticket()
    base = f"/agent/tickets/{ticket.pk}"
    for url, data in [
        (f"{base}/change/", {"field": "assignee", "value": forged}),
        (f"{base}/problem/", {"problem": forged}),
        (f"{base}/about/", {"about": f"service:{forged}"}),
        ("/agent/bulk/", {"tickets": [ticket.pk], "action": "merge", "merge_into": forged}),
        (f"/agent/customers/{ticket.customer_id}/merge/", {"other": forged}),
        ("/agent/notifications/read/", {"notification": forged}),
        ("/agent/chats/1/transfer/", {"agent": forged}),
    ]:
        response = admin_browser.post(url, data)
        assert response.status_code < 500, url
    response = admin_api.get("/api/v1/tickets/", {"assignee": forged})
    assert response.status_code in (200, 400)
