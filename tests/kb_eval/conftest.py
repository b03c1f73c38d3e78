"""The evaluation set (eval_set.json) and the doors, ready to be asked."""

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from knowledge.demo import load_demo_knowledge_base
from tests.channels_ingest.sms import twilio_helpers as twilio
from tests.kb_eval.doors import POSTMARK_SECRET, Doors

EVAL_SET = json.loads((Path(__file__).parent / "eval_set.json").read_text())
# CI reports on the held-back half only; KB_EVAL_HALF=tune is for tuning the engine.
HALF = os.environ.get("KB_EVAL_HALF", "held")


def questions() -> list[dict[str, str]]:
    return [entry for entry in EVAL_SET["on_topic"] if entry["half"] == HALF]


def off_topic() -> list[dict[str, str]]:
    return [entry for entry in EVAL_SET["off_topic"] if entry["half"] == HALF]


@pytest.fixture
def door_settings(settings: Any, celery_eager: Any) -> Any:
    settings.ANYMAIL = {"WEBHOOK_SECRET": POSTMARK_SECRET}
    settings.TWILIO_AUTH_TOKEN = twilio.TOKEN
    settings.TWILIO_ACCOUNT_SID = twilio.ACCOUNT_SID
    settings.TWILIO_FROM_NUMBER = twilio.OUR_NUMBER
    settings.PUBLIC_BASE_URL = twilio.BASE_URL
    settings.SMS_BACKEND = "locmem"
    settings.HELPDESK_WEB_FORM_PER_10_MINUTES = 10_000
    return settings


@pytest.fixture
def doors(door_settings: Any, django_capture_on_commit_callbacks: Callable, agent: Any) -> Doors:
    assert load_demo_knowledge_base() >= 40

    def run_on_commit(request: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return request()

    agent_client = Client()
    agent_client.force_login(agent)
    return Doors(Client(), agent_client, run_on_commit)
