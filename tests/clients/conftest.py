"""Fixtures for the official-client tests: one real `cvat-server` process per test session.

The server binary is `$CVAT_SERVER_BIN` (default `target/debug/cvat-server`, relative to the
repository root). It runs on a fresh SQLite file in a temporary directory, on a free port, with
one superuser created through `cvat-server createsuperuser --password-stdin`. Every other user is
registered by the tests themselves through the SDK (`POST /api/auth/register`).

Admin sessions are function-scoped on purpose: with cvat-sdk < 2.80 logging out deletes the
user's single API token, which every Token-authenticated client of that user shares.
"""

import os
import secrets
import re
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from types import SimpleNamespace

import pytest

import sdkutil

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVE_LINE = re.compile(r"serving the CVAT Users API at (http://[^/\s]+)")
STARTUP_TIMEOUT = 60.0

ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Adm1n-" + sdkutil.token(8)


def _server_bin():
    path = Path(os.environ.get("CVAT_SERVER_BIN", "target/debug/cvat-server"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_file():
        pytest.exit(f"cvat-server binary not found at {path} (build it with `cargo build`, "
                    "or set CVAT_SERVER_BIN)", returncode=2)
    return path


def _server_env():
    # Command-line flags win over CVAT_* variables anyway; drop the ones that could still change
    # behaviour the tests rely on (e.g. a tiny lockout budget from the caller's environment).
    env = {k: v for k, v in os.environ.items() if not k.startswith("CVAT_")}
    env.setdefault("RUST_LOG", "warn")
    return env


class _Pump(threading.Thread):
    """Keeps reading a pipe so the server never blocks on a full buffer; remembers the tail."""

    def __init__(self, stream, on_line=None):
        super().__init__(daemon=True)
        self.stream, self.on_line, self.tail = stream, on_line, deque(maxlen=200)

    def run(self):
        for raw in iter(self.stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.tail.append(line)
            if self.on_line:
                self.on_line(line)


def _database_url(workdir):
    """A fresh SQLite file, or a fresh schema on the PostgreSQL server named by CVAT_TEST_POSTGRES."""
    base = os.environ.get("CVAT_TEST_POSTGRES")
    if not base:
        return f"sqlite://{workdir / 'cvat.db'}"
    schema = f"py{os.getpid()}_{secrets.token_hex(4)}"
    subprocess.run(["psql", base, "-q", "-c", f"CREATE SCHEMA {schema}"], check=True, timeout=60)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Starts the server; yields host (``http://127.0.0.1:PORT``) and the admin's credentials."""
    yield from _serve(tmp_path_factory, [])


@pytest.fixture(scope="session")
def verifying_server(tmp_path_factory):
    """A second server with mandatory e-mail verification and no re-send cooldown."""
    yield from _serve(tmp_path_factory, ["--email-verification", "mandatory",
                                         "--email-confirmation-cooldown", "0"])


def _serve(tmp_path_factory, extra_args):
    binary = _server_bin()
    workdir = tmp_path_factory.mktemp("cvat-server")
    db_url = _database_url(workdir)
    env = _server_env()

    created = subprocess.run(
        [str(binary), "createsuperuser", "--username", ADMIN_USER, "--email", ADMIN_EMAIL,
         "--password-stdin", "--database-url", db_url],
        input=(ADMIN_PASSWORD + "\n").encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        cwd=workdir, env=env, timeout=120)
    if created.returncode != 0:
        pytest.exit("createsuperuser failed:\n" + created.stdout.decode("utf-8", "replace"), returncode=2)

    proc = subprocess.Popen(
        [str(binary), "serve", "--bind", "127.0.0.1:0", "--database-url", db_url, *extra_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir, env=env)
    found = {}
    ready = threading.Event()

    def on_stdout(line):
        m = SERVE_LINE.search(line)
        if m and not ready.is_set():
            found["host"] = m.group(1)
            ready.set()

    out, err = _Pump(proc.stdout, on_stdout), _Pump(proc.stderr)
    out.start()
    err.start()

    def logs():
        return "\n".join(["--- stdout"] + list(out.tail) + ["--- stderr"] + list(err.tail))

    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not ready.wait(0.1):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.exit(f"cvat-server did not start (exit {proc.returncode}):\n{logs()}", returncode=2)

    try:
        yield SimpleNamespace(host=found["host"], user=ADMIN_USER, password=ADMIN_PASSWORD,
                              email=ADMIN_EMAIL, process=proc, logs=logs, workdir=workdir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def host(server):
    return server.host


@pytest.fixture
def admin_ll(server):
    """A fresh low-level ApiClient logged in as the admin the way this SDK's Client does it."""
    client, _ = sdkutil.login_low_level(server.host, server.user, server.password)
    yield client
    client.close()


@pytest.fixture
def admin_hl(server):
    """A fresh high-level Client (make_client) logged in as the admin."""
    client = sdkutil.make_client(server.host, (server.user, server.password))
    yield client
    client.close()


@pytest.fixture
def new_user(server):
    """Factory: registers a throw-away user through the SDK and returns its credentials and id."""
    def make(prefix="user", **kw):
        return sdkutil.register_user(server.host, prefix, **kw)
    return make


@pytest.fixture(scope="session")
def crowd(server):
    """Twelve registered users sharing a searchable first name, so that the default page size
    (10) needs at least two pages. Tests must not modify or delete them."""
    first = "Crowd" + sdkutil.token(3)
    users = [sdkutil.register_user(server.host, "crowd", first_name=first, last_name=f"Member{i:02d}")
             for i in range(12)]
    return SimpleNamespace(first_name=first, users=users, ids=sorted(u.id for u in users))


def pytest_report_header(config):
    return [sdkutil.FEATURES]
