"""The evaluation's questions started as live chats over the chat WebSocket: the articles
sent while the customer waits (tier 0 in the chat), as test_doors.py does for the others."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.db import connection
from django.utils import timezone

from helpdesk.asgi import application
from knowledge.demo import load_demo_knowledge_base
from tests.factories import AgentFactory
from tests.kb_eval.conftest import off_topic, questions
from tests.kb_eval.doors import chat_offered
from tests.kb_eval.scoring import score
from tests.kb_eval.test_doors import MAX_OFF_TOPIC_CONFIDENT, min_top3
from tickets.models import AgentProfile

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("websockets"),
]


@pytest.fixture
def desk(db):
    load_demo_knowledge_base()
    agent = AgentFactory(username="alice", first_name="Alice")
    AgentProfile.objects.filter(user=agent).update(last_seen_at=timezone.now())


async def ask(number: int, text: str) -> list[str]:
    socket = WebsocketCommunicator(
        application, "/ws/chat/", headers=[(b"origin", b"http://localhost")]
    )
    # One customer address each: the chat's per-address limit on starts.
    socket.scope["client"] = (f"10.77.{number // 250}.{number % 250}", 40000)
    connected, _ = await socket.connect()
    assert connected
    await socket.receive_json_from(timeout=5)  # status
    await socket.send_json_to(
        {"type": "start", "name": "Eval", "email": f"eval{number}@example.com",
         "text": text[:2000], "client_id": f"c-{number}"}
    )  # fmt: skip
    for _ in range(10):
        message = await socket.receive_json_from(timeout=5)
        if message["type"] == "session":
            await socket.disconnect()
            return chat_offered(message["messages"])
    raise AssertionError("no session")


async def test_questions_started_as_chats_get_their_article_while_waiting(desk):
    answers = []
    for number, question in enumerate(questions()):
        shown = await ask(number, question["query"])
        answers.append((question["query"], question["article"], shown))
    confident = [bool(await ask(1000 + n, q["query"])) for n, q in enumerate(off_topic())]

    result = await sync_to_async(score)("chat", connection.vendor, answers, confident)

    assert result.top3 >= min_top3("chat"), "\n".join(result.misses)
    assert result.off_topic_confident <= MAX_OFF_TOPIC_CONFIDENT
