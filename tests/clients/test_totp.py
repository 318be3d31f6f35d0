"""TOTP second factor through the official clients (issue 15): users without it are unaffected;
for a user with it, the SDK's login gets the 401 `mfa_required`, step two is completed with the
raw API (`POST /api/auth/login/mfa`), and the token it answers works in the SDK; a recovery code
works once; Basic credentials are refused with the message pointing to access tokens.

Codes come from `pyotp`, an implementation independent of the server's, from the secret the
server returned. A step is accepted once and never before a later one, so each test enrols with
the previous step's code and then uses the current one.
"""

import json
import time
import urllib.error
import urllib.request

import pyotp
from cvat_sdk.api_client import exceptions, models

import sdkutil
from sdkutil import raises


def _post(host, path, body, token=None):
    """A raw JSON POST; (status, parsed body)."""
    req = urllib.request.Request(host + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Token " + token)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _fresh_step():
    """Waits until at least 10 s are left in the current 30 s step."""
    left = 30 - time.time() % 30
    if left < 10:
        time.sleep(left + 1)
    return int(time.time())


def _enrol(host, user):
    """Turns TOTP on for `user`; its pyotp generator, recovery codes and the base time."""
    status, body = _post(host, "/api/auth/login", {"username": user.username, "password": user.password})
    assert status == 200, body
    status, setup = _post(host, "/api/auth/mfa/totp/setup", {"password": user.password}, body["key"])
    assert status == 200, setup
    totp = pyotp.TOTP(setup["secret"])
    assert setup["otpauth_url"] == totp.provisioning_uri(name=user.username, issuer_name="CVAT")
    t0 = _fresh_step()
    status, confirmed = _post(host, "/api/auth/mfa/totp/confirm", {"code": totp.at(t0 - 30)}, body["key"])
    assert status == 200, confirmed
    assert len(confirmed["recovery_codes"]) == 10
    return totp, confirmed["recovery_codes"], t0


def _sdk_login_ticket(host, user):
    """The SDK's own login call: refused with 401, the body carrying the step-two ticket."""
    c = sdkutil.new_client(host)
    e = raises(exceptions.UnauthorizedException, 401, c.auth_api.create_login,
               models.LoginSerializerExRequest(username=user.username, password=user.password))
    body = sdkutil.json_body(e)
    assert body["code"] == "mfa_required" and body["mfa_methods"] == ["totp", "recovery_code"]
    assert "sessionid" not in c.cookies
    return body["mfa_token"]


def test_users_without_totp_are_unaffected(host, new_user):
    user = new_user("nototp")
    c, _ = sdkutil.login_low_level(host, user.username, user.password)
    me, _ = c.users_api.retrieve_self()
    assert me.username == user.username
    with sdkutil.make_client(host, (user.username, user.password)) as client:
        assert client.users.retrieve_current_user().username == user.username
    basic = sdkutil.new_client(host, username=user.username, password=user.password)
    me, _ = basic.users_api.retrieve_self()
    assert me.id == user.id


def test_login_step_two_with_the_raw_api_and_a_recovery_code_once(host, new_user):
    user = new_user("totp")
    totp, codes, t0 = _enrol(host, user)

    ticket = _sdk_login_ticket(host, user)
    status, body = _post(host, "/api/auth/login/mfa", {"mfa_token": ticket, "code": "000000"})
    assert (status, body["code"]) == (400, "mfa_code_invalid")
    status, body = _post(host, "/api/auth/login/mfa", {"mfa_token": ticket, "code": totp.at(t0)})
    assert status == 200, body
    c = sdkutil.new_client(host)
    c.set_default_header("Authorization", "Token " + body["key"])
    me, _ = c.users_api.retrieve_self()
    assert me.username == user.username
    # The same code again, on a new ticket: refused.
    ticket = _sdk_login_ticket(host, user)
    status, body = _post(host, "/api/auth/login/mfa", {"mfa_token": ticket, "code": totp.at(t0)})
    assert (status, body["code"]) == (400, "mfa_code_invalid")

    # A recovery code works once.
    status, body = _post(host, "/api/auth/login/mfa", {"mfa_token": ticket, "recovery_code": codes[0]})
    assert status == 200, body
    assert body["recovery_codes_remaining"] == 9
    ticket = _sdk_login_ticket(host, user)
    status, body = _post(host, "/api/auth/login/mfa", {"mfa_token": ticket, "recovery_code": codes[0]})
    assert (status, body["code"]) == (400, "mfa_code_invalid")


def test_basic_credentials_are_refused_with_the_access_token_hint(host, new_user):
    user = new_user("totpbasic")
    _enrol(host, user)
    basic = sdkutil.new_client(host, username=user.username, password=user.password)
    e = raises(exceptions.UnauthorizedException, 401, basic.users_api.retrieve_self)
    body = sdkutil.json_body(e)
    assert body["code"] == "mfa_required"
    assert "access token" in body["detail"]
