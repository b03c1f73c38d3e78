"""The client address the per-address limits count is the one a trusted proxy reports, and
only that: the web server exactly as docker-compose.yml runs it (gunicorn, uvicorn worker)."""

import http.client
import os
import random
import sys
from pathlib import Path

import yaml

from tests.helpdesk.servers import serving

ROOT = Path(__file__).resolve().parents[2]
SUGGEST_PER_MINUTE = 10  # HELPDESK_KB_SUGGESTIONS_PER_MINUTE of the server started below


def _compose_web_command(port: int) -> list[str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = [
        f"--bind=127.0.0.1:{port}" if part.startswith("--bind=") else part
        for part in compose["services"]["web"]["command"]
        if not part.startswith("--workers=")
    ]
    return [str(Path(sys.executable).parent / command[0]), *command[1:], "--workers=1"]


def _suggest_statuses(trusted_proxies: str, tmp_path: Path) -> list[int]:
    """Statuses of SUGGEST_PER_MINUTE + 5 suggestions, each claiming another address."""
    env = {
        **os.environ,
        "FORWARDED_ALLOW_IPS": trusted_proxies,
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",  # an empty form reads nothing
        "DEBUG": "1",
        "DATA_DIR": str(tmp_path),
        "HELPDESK_KB_SUGGESTIONS_PER_MINUTE": str(SUGGEST_PER_MINUTE),
    }
    prefix = f"10.{random.randrange(256)}.{random.randrange(256)}"
    statuses = []
    with serving(_compose_web_command, env) as port:
        for number in range(SUGGEST_PER_MINUTE + 5):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request(
                    "GET", "/support/suggest/", headers={"X-Forwarded-For": f"{prefix}.{number}"}
                )
                statuses.append(connection.getresponse().status)
            finally:
                connection.close()
    return statuses


def test_a_client_cannot_choose_its_address(tmp_path):
    # We are not the proxy the server trusts: our X-Forwarded-For is ignored, so all the
    # requests count against our own address, and the limit holds.
    statuses = _suggest_statuses("10.255.255.254", tmp_path)

    assert statuses.count(200) <= SUGGEST_PER_MINUTE
    assert statuses[-1] == 429


def test_the_trusted_proxy_reports_the_client_address(tmp_path):
    # Behind the trusted proxy, each client is counted on its own.
    statuses = _suggest_statuses("127.0.0.1", tmp_path)

    assert set(statuses) == {200}


def test_only_the_helper_reads_the_peer_address():
    # One rule for who the client is: every limit and log asks client_address.
    readers = [
        str(path.relative_to(ROOT))
        for app in ("helpdesk", "tickets", "channels_ingest", "knowledge")
        for path in (ROOT / app).rglob("*.py")
        if 'REMOTE_ADDR"' in path.read_text() or "REMOTE_ADDR'" in path.read_text()
    ]
    assert readers == ["helpdesk/ratelimit.py"]
