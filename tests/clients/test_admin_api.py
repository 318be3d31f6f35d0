"""Administration endpoints (issue 8) through the official clients, as raw calls.

Neither cvat-sdk 2.3.0 nor the newest cvat-sdk has a method for `POST /api/users`,
`POST /api/users/{id}/password` (CVAT has no such endpoints), so the tests send them with the
SDK's own `ApiClient.call_api`, authenticated however that SDK authenticates (token before 2.80,
session + CSRF header since). What the SDK does have (login, `users_api`, registration) is used
as is, to check the effects: new users log in, revoked credentials fail, registration can be off.
"""

import json
import subprocess
import threading
import time

import pytest

from cvat_sdk.api_client import exceptions, models

import conftest
import sdkutil

FULL_KEYS = ["url", "id", "username", "first_name", "last_name", "email", "groups",
             "is_staff", "is_superuser", "is_active", "last_login", "date_joined", "created_via",
             "email_verified"]
NO_PERMISSION = "You do not have permission to perform this action."
PASSWORD_SET = "The password has been set. The user's sessions and tokens have been revoked."
DISABLED = "Self-registration is disabled on this server. Ask an administrator for an account."


def raw(client, method, path, body=None):
    """One request through the SDK's ApiClient; returns (status, parsed JSON body)."""
    auth = client.users_api.list_endpoint.settings["auth"]
    _, response = client.call_api(
        path, method,
        header_params={"Content-Type": "application/json", "Accept": "application/vnd.cvat+json"},
        body=body, auth_settings=auth, _parse_response=False, _check_status=False)
    data = response.data
    return response.status, (json.loads(data) if data else None)


def create_user(client, **body):
    return raw(client, "POST", "/api/users", body)


def test_admin_creates_a_user_who_can_log_in(admin_ll, host):
    username = "made_" + sdkutil.token(3)
    password = sdkutil.fresh_password()
    status, user = create_user(admin_ll, username=username, email=f"{username}@example.com",
                               password=password, first_name="Made", last_name="ByAdmin",
                               groups=["worker"])
    assert status == 201, user
    assert list(user) == FULL_KEYS
    assert user["username"] == username and user["groups"] == ["worker"]
    assert user["is_active"] is True and user["is_staff"] is False and user["last_login"] is None

    # The SDK reads the new user as any other.
    fetched, _ = admin_ll.users_api.retrieve(user["id"])
    assert fetched.username == username and fetched.email == f"{username}@example.com"
    own, _ = sdkutil.login_low_level(host, username, password)
    me, _ = own.users_api.retrieve_self()
    assert me.id == user["id"] and me.first_name == "Made"
    own.close()


def test_high_level_client_logs_in_as_a_created_user(admin_ll, host):
    username = "hl_" + sdkutil.token(3)
    password = sdkutil.fresh_password()
    status, user = create_user(admin_ll, username=username, password=password)
    assert status == 201, user
    with sdkutil.make_client(host, (username, password)) as client:
        assert client.users.retrieve_current_user().id == user["id"]


def test_create_reports_field_errors(admin_ll, new_user):
    taken = new_user("taken")
    status, body = create_user(admin_ll, username=taken.username.upper(), email="nope",
                               password="12345678", is_active="maybe")
    assert status == 400
    assert body == {
        "username": ["A user with that username already exists."],
        "email": ["Enter a valid email address."],
        "password": ["This password is too common.", "This password is entirely numeric."],
        "is_active": ["Must be a valid boolean."],
    }
    assert create_user(admin_ll) == (400, {"username": ["This field is required."],
                                           "password": ["This field is required."]})


def test_non_admins_are_refused(host, new_user):
    someone = new_user("plain")
    client, _ = sdkutil.login_low_level(host, someone.username, someone.password)
    try:
        assert create_user(client, username="sneaky_" + sdkutil.token(2), password="Pw-abc-12345") \
            == (403, {"detail": NO_PERMISSION})
        assert raw(client, "POST", f"/api/users/{someone.id}/password", {"password": "Pw-abc-12345"}) \
            == (403, {"detail": NO_PERMISSION})
    finally:
        client.close()


def test_set_password_revokes_the_users_clients(admin_ll, host, new_user):
    victim = new_user("victim")
    client, _ = sdkutil.login_low_level(host, victim.username, victim.password)
    client.users_api.retrieve_self()

    status, body = raw(admin_ll, "POST", f"/api/users/{victim.id}/password", {"password": victim.username})
    assert (status, body) == (400, {"password": ["The password is too similar to the username."]})
    client.users_api.retrieve_self()  # a refused reset changes nothing

    new_password = sdkutil.fresh_password()
    assert raw(admin_ll, "POST", f"/api/users/{victim.id}/password", {"password": new_password}) \
        == (200, {"detail": PASSWORD_SET})
    with pytest.raises(exceptions.ApiException) as info:
        client.users_api.retrieve_self()
    assert info.value.status in (401, 403), info.value.status  # 403: CSRF without a session
    client.close()

    with pytest.raises(exceptions.ApiException):
        sdkutil.login_low_level(host, victim.username, victim.password)
    again, _ = sdkutil.login_low_level(host, victim.username, new_password)
    me, _ = again.users_api.retrieve_self()
    assert me.id == victim.id
    again.close()


# --- a second server, with self-registration off ----------------------------------------------

@pytest.fixture(scope="module")
def closed_server(tmp_path_factory):
    """A server started with --registration-disabled (same helpers as conftest's server)."""
    workdir = tmp_path_factory.mktemp("cvat-closed")
    db_url = conftest._database_url(workdir)
    env = conftest._server_env()
    password = "Adm1n-" + sdkutil.token(8)
    subprocess.run(
        [str(conftest._server_bin()), "createsuperuser", "--username", "admin", "--email",
         "admin@example.com", "--password-stdin", "--database-url", db_url],
        input=(password + "\n").encode(), check=True, stdout=subprocess.DEVNULL, cwd=workdir,
        env=env, timeout=120)
    proc = subprocess.Popen(
        [str(conftest._server_bin()), "serve", "--bind", "127.0.0.1:0", "--database-url", db_url,
         "--registration-disabled"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir, env=env)
    found, ready = {}, threading.Event()

    def on_line(line):
        m = conftest.SERVE_LINE.search(line)
        if m and not ready.is_set():
            found["host"] = m.group(1)
            ready.set()

    conftest._Pump(proc.stdout, on_line).start()
    conftest._Pump(proc.stderr).start()
    deadline = time.monotonic() + conftest.STARTUP_TIMEOUT
    while not ready.wait(0.1):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the --registration-disabled server did not start")
    try:
        yield found["host"], password
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_registration_disabled(closed_server):
    host, admin_password = closed_server
    c = sdkutil.new_client(host)
    with pytest.raises(exceptions.ApiException) as info:
        c.auth_api.create_register(models.RegisterSerializerExRequest(
            username="hopeful_" + sdkutil.token(2), password1="Pw-abc-12345", password2="Pw-abc-12345"))
    assert info.value.status == 403
    assert sdkutil.json_body(info.value) == {"detail": DISABLED}
    c.close()

    # An administrator creates the account instead, and the SDK logs in with it.
    admin, _ = sdkutil.login_low_level(host, "admin", admin_password)
    status, user = create_user(admin, username="invited_" + sdkutil.token(2), password="Pw-abc-12345")
    assert status == 201, user
    admin.close()
    own, _ = sdkutil.login_low_level(host, user["username"], "Pw-abc-12345")
    assert own.users_api.retrieve_self()[0].id == user["id"]
    own.close()
