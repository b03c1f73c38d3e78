"""Developer entry points behind `make run` and `make test` (not used in production)."""

import os
import socket
import sys
from urllib.parse import urlparse

DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/helpdesk"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def banner() -> None:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    print(
        f"""
  Help desk is starting at  http://{host}:{port}/
    agent workspace         http://{host}:{port}/agent/
    admin                   http://{host}:{port}/admin/
    help center             http://{host}:{port}/kb/
    contact form, portal    http://{host}:{port}/support/new/  http://{host}:{port}/support/
    API docs                http://{host}:{port}/api/docs/
  Demo logins (password "demo"):
    admin                   everything
    alice, bob              tier 1 agents
    carol                   tier 1 + 2 agent and lead (reads the reports)
    dan                     tier 2 agent
    erin                    tier 2 + 3 agent
  Customers sign in to the portal by an emailed link: here, mail is printed in this window.
  Ctrl-C stops the web server, the Celery worker and beat.
""",
        flush=True,
    )


def test(pytest_args: list[str]) -> int:
    """Run pytest against PostgreSQL and Redis when reachable, else SQLite (unless required)."""
    required = os.environ.get("REQUIRE_SERVICES") == "1"
    database_url = os.environ.setdefault("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    redis_url = os.environ.setdefault("TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)
    missing = []
    if _reachable(database_url, 5432):
        os.environ["DATABASE_URL"] = database_url
    else:
        missing.append(f"PostgreSQL at {database_url}")
    if _reachable(redis_url, 6379):
        os.environ["REDIS_URL"] = redis_url
    else:
        missing.append(f"Redis at {redis_url}")
    if missing:
        print("Not reachable: " + "; ".join(missing), file=sys.stderr)
        if required:
            print("REQUIRE_SERVICES=1: failing instead of skipping.", file=sys.stderr)
            return 2
        print(
            "Running what can run on SQLite / in memory; tests needing them are skipped.",
            file=sys.stderr,
        )
    os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
    # The WebSocket origin check reads the allowed hosts when the ASGI app is built, before
    # the test runner adds "testserver": the live servers of the tests run on localhost.
    os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
    import pytest

    return int(pytest.main(["-p", "no:cacheprovider", *pytest_args]))


def run_environment(environ: dict[str, str]) -> dict[str, str]:
    """The environment of `make run`'s processes. honcho hands each process a PORT of its
    own (the worker 8100, beat 8200...): the links the worker mails to customers must name
    the web process's port, so PUBLIC_BASE_URL is fixed from it first, unless set."""
    port = environ.get("PORT", "8000")
    return {
        **environ,
        "PORT": port,
        "PUBLIC_BASE_URL": environ.get("PUBLIC_BASE_URL") or f"http://localhost:{port}",
    }


def run() -> int:
    """The web process, a Celery worker and beat until Ctrl-C, which is a normal end."""
    import signal
    import subprocess

    environ = run_environment(dict(os.environ))
    command = [
        os.path.join(os.path.dirname(sys.executable), "honcho"),
        "--procfile", "helpdesk/Procfile.dev", "--app-root", ".",
        "start", "--port", environ["PORT"],
    ]  # fmt: skip
    honcho = subprocess.Popen(command, env=environ)  # noqa: S603 (our own command line)
    try:
        code = honcho.wait()
    except KeyboardInterrupt:  # honcho stops its processes on the same Ctrl-C
        code = honcho.wait()
    return 0 if code in (130, -signal.SIGINT, 128 + signal.SIGINT) else code


def main(argv: list[str]) -> int:
    command, rest = (argv[0] if argv else ""), argv[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if command == "banner":
        banner()
        return 0
    if command == "test":
        return test(rest)
    if command == "run":
        return run()
    print("usage: python -m helpdesk.devtools banner|run|test [-- pytest args]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
