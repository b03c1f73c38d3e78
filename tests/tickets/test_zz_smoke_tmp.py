import pytest
@pytest.fixture(autouse=True)
def _http(settings):
    settings.SECURE_SSL_REDIRECT = False

def test_probe(agent_api, api, open_ticket, customer_user):
    t = open_ticket()
    for url in ["/api/v1/tickets/99999999999999999999/", "/api/v1/tickets/?q=HD-99999999999999999999",
                "/api/v1/tickets/?customer=99999999999999999999", "/api/v1/tickets/?assignee=99999999999999999999",
                "/api/v1/tickets/?status=bogus", "/api/v1/tickets/?tier=7,1", "/api/v1/customers/?q=portal"]:
        r = agent_api.get(url)
        print(url, r.status_code, r.content[:400])
    r = agent_api.post(f"/api/v1/tickets/{t.pk}/merge/", {"into": 99999999999999999999}, format="json")
    print(r.status_code, r.content[:300])
    r = agent_api.post("/api/v1/tickets/", {"customer": 99999999999999999999, "subject": "x", "text": "y"}, format="json")
    print(r.status_code, r.content[:300])
    r = agent_api.post("/api/v1/tickets/", {"requester": {"email": "bad"}, "subject": "x", "text": "y"}, format="json")
    print(r.status_code, r.content[:300])
    r = agent_api.post("/api/v1/tickets/", {"requester": {"phone": "(415) 555-0123", "name": "Pat"}, "subject": "x", "text": "y"}, format="json")
    print(r.status_code, r.json()["customer"], r.json()["events"])
    tid = r.json()["id"]
    r = agent_api.post(f"/api/v1/tickets/{tid}/replies/", {"text": "hi"}, format="json")
    print(r.status_code, r.content[:300])
    r = agent_api.patch(f"/api/v1/tickets/{tid}/", {"assignee": 99999999999999999999}, format="json")
    print(r.status_code, r.content[:300])
