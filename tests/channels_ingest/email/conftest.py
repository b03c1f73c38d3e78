"""A private dovecot IMAP server (and a tiny OAuth2 provider) for the IMAP poller's tests.

Debian: `apt-get install dovecot-imapd openssl`. Without dovecot the tests that need it are
skipped, unless REQUIRE_SERVICES=1 (then they fail).
"""

import grp
import imaplib
import itertools
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

DOVECOT_CANDIDATES = ("dovecot", "/usr/sbin/dovecot")
START_TIMEOUT_SECONDS = 20
USERS = 200  # more than the tests need


# --- A tiny OAuth2 provider: token endpoint (refresh grant) and introspection for dovecot -----


@dataclass
class FakeOAuth:
    url: str = ""
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> user
    access_tokens: dict[str, str] = field(default_factory=dict)  # access token -> user
    token_requests: list[dict[str, str]] = field(default_factory=list)
    expires_in: int = 3600
    # (HTTP status, JSON body) answered by the token endpoint instead of a token.
    refuse_with: tuple[int, dict[str, Any]] | None = None
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def reset(self) -> None:
        self.refresh_tokens.clear()
        self.access_tokens.clear()
        self.token_requests.clear()
        self.expires_in = 3600
        self.refuse_with = None

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path == "/token":
            self.token_requests.append(form)
            if self.refuse_with is not None:
                return self.refuse_with
            user = self.refresh_tokens.get(form.get("refresh_token", ""))
            if form.get("grant_type") != "refresh_token" or user is None:
                return 400, {"error": "invalid_grant", "error_description": "unknown token"}
            token = f"access-{next(self._counter)}-{secrets.token_hex(8)}"
            self.access_tokens[token] = user
            return 200, {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
            }
        if path == "/introspect":  # dovecot's oauth2 passdb asks here
            user = self.access_tokens.get(form.get("token", ""))
            return 200, ({"active": True, "username": user} if user else {"active": False})
        return 404, {"error": "not_found"}


def _start_oauth_server(oauth: FakeOAuth) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            status, body = oauth.answer(self.path, form)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    oauth.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def oauth_server() -> Iterator[FakeOAuth]:
    oauth = FakeOAuth()
    server = _start_oauth_server(oauth)
    yield oauth
    server.shutdown()
    server.server_close()


@pytest.fixture
def oauth(oauth_server: FakeOAuth) -> FakeOAuth:
    oauth_server.reset()
    return oauth_server


# --- dovecot -------------------------------------------------------------------------------


@dataclass
class ImapUser:
    name: str
    password: str


@dataclass
class Dovecot:
    """A running dovecot: IMAPS and IMAP (STARTTLS) on 127.0.0.1, users added on the fly."""

    root: Path
    imaps_port: int
    imap_port: int
    cert_file: Path
    log_file: Path
    mail_uid: int
    mail_gid: int
    # Made before the start: dovecot re-reads its passwd file at most once a second.
    users: list[ImapUser]
    unicode_user: ImapUser  # a password that is not ASCII

    host = "127.0.0.1"

    def add_user(self) -> ImapUser:
        """A user of its own for each test, with an empty Maildir."""
        return self.users.pop(0)

    def client(self, user: ImapUser) -> imaplib.IMAP4_SSL:
        """The test's own IMAP connection (to put mail in and look at flags)."""
        context = ssl.create_default_context(cafile=str(self.cert_file))
        client = imaplib.IMAP4_SSL(self.host, self.imaps_port, ssl_context=context, timeout=10)
        if user.password.isascii():
            client.login(user.name, user.password)
        else:
            plain = f"\0{user.name}\0{user.password}".encode()
            client.authenticate("PLAIN", lambda _: plain)
        return client

    def deliver(
        self, user: ImapUser, raw: bytes, *, seen: bool = False, folder: str = "INBOX"
    ) -> None:
        client = self.client(user)
        try:
            flags = r"(\Seen)" if seen else None
            typ, data = client.append(folder, flags, None, raw)
            assert typ == "OK", data
        finally:
            client.logout()

    def messages(self, user: ImapUser, folder: str = "INBOX") -> dict[str, set[str]]:
        """Subject (or "" when it has none) -> flags of each message in the folder."""
        client = self.client(user)
        try:
            typ, data = client.select(folder)
            assert typ == "OK", data
            typ, data = client.uid("SEARCH", "ALL")
            if not data[0]:
                return {}
            typ, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            found: dict[str, set[str]] = {}
            for line in data:
                if not isinstance(line, tuple):
                    continue
                flags = imaplib.ParseFlags(line[0])
                subject = line[1].decode().partition(":")[2].strip()
                found[subject] = {flag.decode() for flag in flags}
            return found
        finally:
            client.logout()

    def folders(self, user: ImapUser) -> list[str]:
        client = self.client(user)
        try:
            _typ, data = client.list()
            # (\\HasNoChildren) "." "Name": the name is the last item, quoted or not.
            names = [re.match(r'\(.*?\) (?:NIL|"[^"]*") (.+)$', line.decode()) for line in data]
            return [name.group(1).strip('"') for name in names if name]
        finally:
            client.logout()

    def logins(self, user: ImapUser) -> list[str]:
        return [
            line
            for line in self.log_file.read_text(errors="replace").splitlines()
            if f"Login: user=<{user.name}>" in line
        ]


def _write_users(root: Path, users: list[ImapUser], uid: int, gid: int) -> None:
    lines = []
    for user in users:
        home = root / "home" / user.name
        home.mkdir()
        os.chown(home, uid, gid)
        lines.append(f"{user.name}:{{PLAIN}}{user.password}:{uid}:{gid}::{home}\n")
    (root / "passwd").write_text("".join(lines), encoding="utf-8")


def _dovecot_binary() -> str | None:
    for candidate in DOVECOT_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


def _config(
    root: Path, *, cert: Path, key: Path, imap_port: int, imaps_port: int, oauth_url: str
) -> str:
    if os.geteuid() == 0:
        users = ""  # dovecot's own users (dovecot, dovenull) for its internal processes
    else:  # rootless: everything runs as whoever runs the tests
        me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        users = (
            f"default_internal_user = {me}\ndefault_login_user = {me}\n"
            f"default_internal_group = {group}\n"
        )
    (root / "oauth2.conf").write_text(
        f"introspection_url = {oauth_url}/introspect\n"
        "introspection_mode = post\n"
        "force_introspection = yes\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
        "timeout_msecs = 5000\n"
    )
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{users}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {root}/oauth2.conf
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture(scope="session")
def dovecot(oauth_server: FakeOAuth) -> Iterator[Dovecot]:
    binary = _dovecot_binary()
    if binary is None or shutil.which("openssl") is None:
        message = "dovecot (and openssl) not installed: apt-get install dovecot-imapd openssl"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    # Not under pytest's tmp dir: that one is private to us, and dovecot's mail processes run
    # as the dovecot user when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        mail_uid, mail_gid = pwd.getpwnam("dovecot").pw_uid, pwd.getpwnam("dovecot").pw_gid
    else:
        mail_uid, mail_gid = os.getuid(), os.getgid()
    (root / "home").mkdir()
    os.chown(root / "home", mail_uid, mail_gid)
    users = [ImapUser(f"user{n}", secrets.token_urlsafe(12)) for n in range(1, USERS + 1)]
    unicode_user = ImapUser("unicode", "pässwörd-ß")
    _write_users(root, [*users, unicode_user], mail_uid, mail_gid)
    cert, key = _self_signed_cert(root)
    imap_port, imaps_port = _free_port(), _free_port()
    config = root / "dovecot.conf"
    config.write_text(
        _config(
            root,
            cert=cert,
            key=key,
            imap_port=imap_port,
            imaps_port=imaps_port,
            oauth_url=oauth_server.url,
        )
    )
    output = (root / "output.txt").open("wb")
    process = subprocess.Popen(
        [binary, "-F", "-c", str(config)], stdout=output, stderr=subprocess.STDOUT
    )
    server = Dovecot(
        root=root,
        imaps_port=imaps_port,
        imap_port=imap_port,
        cert_file=cert,
        log_file=root / "dovecot.log",
        mail_uid=mail_uid,
        mail_gid=mail_gid,
        users=users,
        unicode_user=unicode_user,
    )
    try:
        _wait_until_ready(process, root, (imap_port, imaps_port))
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        output.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_ready(process: subprocess.Popen[bytes], root: Path, ports: tuple[int, ...]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    # dovecot delays every login from an address that recently failed one (up to 15 s), which
    # would make the wrong-password test slow down all the others. Its auth process turns
    # that off by itself when it finds no penalty socket: remove it before the first login.
    penalty_socket = root / "run" / "anvil-auth-penalty"
    while not penalty_socket.exists():
        _check_alive(process, root, deadline)
        time.sleep(0.05)
    penalty_socket.unlink()
    while not all(_accepts(port) for port in ports):
        _check_alive(process, root, deadline)
        time.sleep(0.05)


def _check_alive(process: subprocess.Popen[bytes], root: Path, deadline: float) -> None:
    if process.poll() is None and time.monotonic() < deadline:
        return
    process.kill()
    logs = [
        path.read_text(errors="replace")
        for path in (root / "output.txt", root / "dovecot.log")
        if path.exists()
    ]
    pytest.fail("dovecot did not start:\n" + "\n".join(logs))


@pytest.fixture
def imap_settings(settings: Any, dovecot: Dovecot) -> Any:
    """The poller trusts the test server's self-signed certificate."""
    settings.HELPDESK_IMAP_CA_FILE = str(dovecot.cert_file)
    return settings
