"""E-mail verification through the official clients, on a server in mandatory mode: the
registration answer both SDKs parse, the refused login, the link from the mail (written by the
development backend), then a normal login whose user parses with `email_verified`.
"""

import http.client
import json
from urllib.parse import urlsplit

import pytest
from cvat_sdk.api_client import exceptions, models

import sdkutil


def _confirmation_path(text):
    line = next(l for l in text.splitlines() if "/api/auth/account-confirm-email/" in l)
    url = line[line.index("http"):].strip()
    return urlsplit(url).path


def _get(host, path):
    """(status, Location) of a GET that does not follow redirects."""
    conn = http.client.HTTPConnection(urlsplit(host).netloc, timeout=30)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("Location")
    finally:
        conn.close()


def test_mandatory_verification_through_the_sdk(verifying_server):
    host = verifying_server.host
    username = f"verify_{sdkutil.token(4)}"
    password = sdkutil.fresh_password()
    email = f"{username}@example.com"

    c = sdkutil.new_client(host)
    data, resp = c.auth_api.create_register(models.RegisterSerializerExRequest(
        username=username, password1=password, password2=password, email=email))
    assert resp.status == 201
    assert data.username == username
    raw = json.loads(resp.data)
    assert raw["email_verification_required"] is True and raw["key"] is None
    c.close()

    # Refused with CVAT's HTML answer until the link is opened.
    with pytest.raises(exceptions.ApiException) as info:
        sdkutil.login_low_level(host, username, password)
    assert info.value.status == 400
    assert sdkutil.body_of(info.value) == "Unverified email"

    msg, text = sdkutil.mail_to(verifying_server, email)
    assert msg["Subject"].endswith("] Please Confirm Your Email Address")
    path = _confirmation_path(text)
    assert _get(host, path) == (302, "/auth/email-confirmation")
    assert _get(host, path) == (302, "/auth/incorrect-email-confirmation")

    own, _ = sdkutil.login_low_level(host, username, password)
    me, resp = own.users_api.retrieve_self()
    assert me.username == username
    assert json.loads(resp.data)["email_verified"] is True
    own.close()


def test_advanced_auth_is_booleans(server):
    # cvat-sdk 2.3.0 reads it with its own model (both keys required, booleans).
    c = sdkutil.new_client(server.host)
    call = getattr(c.server_api, "retrieve_advanced_auth", None)
    if call is not None:
        data, resp = call()
        assert resp.status == 200
        assert data.google_account_authentication is False
        assert data.github_account_authentication is False
    c.close()
    conn = http.client.HTTPConnection(urlsplit(server.host).netloc, timeout=30)
    conn.request("GET", "/api/server/advanced-auth")
    r = conn.getresponse()
    assert r.status == 200
    body = json.loads(r.read())
    assert body["GOOGLE_ACCOUNT_AUTHENTICATION"] is False
    assert body["GITHUB_ACCOUNT_AUTHENTICATION"] is False
    assert body["password"] == {"enabled": True, "registration": True,
                                "registration_domains": [], "min_length": 8}
    conn.close()
