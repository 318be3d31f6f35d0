"""Blocked accounts and required password changes through the official clients (issue 15): a
blocked user's login, token and Basic credentials are refused with a clear message, and
unblocking restores them; a user who must change the password is told so until the SDK's
password change. The administrator's side (`POST /api/users/{id}/block`, `POST /api/users` with
`must_change_password`) is sent here without the SDK, which has no method for it."""

import base64
import http.client
import json
from urllib.parse import urlsplit

import pytest
from cvat_sdk.api_client import exceptions

import sdkutil

BLOCKED = "This account is blocked. Ask an administrator to unblock it."


def _admin_post(server, path, body=None):
    conn = http.client.HTTPConnection(urlsplit(server.host).netloc, timeout=30)
    creds = base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
    try:
        conn.request("POST", path, body=json.dumps(body or {}).encode(),
                     headers={"Authorization": "Basic " + creds, "Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def test_a_blocked_user_is_refused_with_a_clear_message(server, new_user):
    user = new_user("blocked")
    own, _ = sdkutil.login_low_level(server.host, user.username, user.password)
    own.users_api.retrieve_self()

    status, body = _admin_post(server, f"/api/users/{user.id}/block")
    assert status == 200 and body["blocked"] is True

    with pytest.raises(exceptions.ApiException) as info:
        own.users_api.retrieve_self()
    assert info.value.status == 401
    assert sdkutil.json_body(info.value) == {"detail": BLOCKED}
    with pytest.raises(exceptions.ApiException) as info:
        sdkutil.login_low_level(server.host, user.username, user.password)
    assert info.value.status == 403
    assert sdkutil.json_body(info.value) == {"detail": BLOCKED}
    with pytest.raises(exceptions.ApiException):
        sdkutil.make_client(server.host, (user.username, user.password))

    status, body = _admin_post(server, f"/api/users/{user.id}/unblock")
    assert status == 200 and body["blocked"] is False
    me, _ = own.users_api.retrieve_self()
    assert me.id == user.id
    own.close()
    with sdkutil.make_client(server.host, (user.username, user.password)) as c:
        assert c.users.retrieve_current_user().username == user.username


MUST_CHANGE = "You must choose a new password first: POST /api/auth/password/change."


def test_a_user_who_must_change_the_password_is_told_and_then_changes_it(server):
    from cvat_sdk.api_client import models

    username, password = f"mustchange_{sdkutil.token(4)}", sdkutil.fresh_password()
    status, body = _admin_post(server, "/api/users", {
        "username": username, "password": password, "must_change_password": True})
    assert status == 201, body

    own, _ = sdkutil.login_low_level(server.host, username, password)
    me, _ = own.users_api.retrieve_self()
    assert me.username == username
    with pytest.raises(exceptions.ApiException) as info:
        own.users_api.list()
    assert info.value.status == 403
    assert sdkutil.json_body(info.value) == {"detail": MUST_CHANGE}

    new_password = sdkutil.fresh_password()
    _, resp = own.auth_api.create_password_change(models.PasswordChangeRequest(
        old_password=password, new_password1=new_password, new_password2=new_password))
    assert resp.status == 200
    page, _ = own.users_api.list()
    assert [u.username for u in page.results] == [username]
    own.close()
