"""Helpers shared by the official-client tests: SDK feature detection and small wrappers.

Everything here must work with cvat-sdk 2.3.0 and with the newest cvat-sdk. Features are
detected from the installed SDK (like ../../../shared/tools/sdk_smoke.py does), never from its
version number, and tests skip only what the installed SDK really lacks.
"""

import contextlib
import email
import email.policy
import inspect
import json
import secrets
import time
from types import SimpleNamespace

import pytest

from cvat_sdk.api_client import ApiClient, Configuration, exceptions, models
from cvat_sdk.core import client as core_client
from cvat_sdk.version import VERSION

# --- feature detection -----------------------------------------------------------------------

# 2.80+: session auth sends X-CSRFToken (+ Origin); older SDKs authenticate with a Token header.
HAS_CSRF_HEADER_AUTH = "csrfHeaderAuth" in Configuration(api_key={"csrfHeaderAuth": "x"}).auth_settings()
# 2.80+: personal access tokens (Authorization: Bearer).
HAS_PAT = "access_token" in inspect.signature(Configuration.__init__).parameters
# 2.4+: Client.organization_slug (X-Organization header on every request).
HAS_ORG_SLUG = hasattr(core_client.Client, "organization_slug")
# <= 2.5: Client probes https:// then http:// for a host given without a scheme.
HAS_SCHEMA_DETECTION = hasattr(core_client.Client, "_detect_schema")
# 2.4+: ?username=, ?first_name=, ?last_name=, ?is_active= on users.list.
_LIST_PARAMS = ApiClient(Configuration(host="http://localhost")).users_api.list_endpoint.params_map["all"]
HAS_SIMPLE_FILTERS = "username" in _LIST_PARAMS
# 2.80: About requires logo_url and subtitle.
ABOUT_HAS_LOGO = "logo_url" in models.About.attribute_map


def _detect_list_kwargs():
    from cvat_sdk.core.proxies.users import UsersRepo
    sig = inspect.signature(UsersRepo.list)
    return any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())


# 2.80: repo.list(**query_params) (search=, sort=, page_size=, field__op lookups, filter=F...).
HAS_LIST_KWARGS = _detect_list_kwargs()

try:  # 2.80+: the filter DSL (F.username == "x") used by repo.list(filter=...)
    from cvat_sdk.core.filters import F  # noqa: F401
    HAS_FILTER_DSL = True
except ImportError:  # pragma: no cover - depends on the installed SDK
    F = None
    HAS_FILTER_DSL = False

FEATURES = (f"cvat-sdk {VERSION}: csrfHeaderAuth={HAS_CSRF_HEADER_AUTH} PAT={HAS_PAT} "
            f"organization_slug={HAS_ORG_SLUG} scheme_detection={HAS_SCHEMA_DETECTION} "
            f"simple_filters={HAS_SIMPLE_FILTERS} about.logo_url={ABOUT_HAS_LOGO} "
            f"list_kwargs={HAS_LIST_KWARGS} filter_dsl={HAS_FILTER_DSL}")


def needs(flag, what):
    """Decorator: skip the test when the installed SDK lacks a feature."""
    return pytest.mark.skipif(not flag, reason=f"cvat-sdk {VERSION} has no {what}")


# --- small helpers ---------------------------------------------------------------------------

def token(n=4):
    return secrets.token_hex(n)


def fresh_password():
    """A random password the server's similarity rule can never find too close to a username
    made of a word and hex digits: the long tail of characters no username here contains keeps
    the share of common characters under 0.7 (with only hex both sides, it sometimes was not)."""
    return f"Pw-{token(6)}-" + "Zq!" * 6


def new_client(host, **cfg):
    return ApiClient(Configuration(host=host, **cfg))


def login_low_level(host, username, password):
    """POST /api/auth/login on a fresh ApiClient, then authenticate the way this SDK's own
    Client does: `Authorization: Token <key>` before 2.80, session cookie + X-CSRFToken since."""
    c = new_client(host)
    tok, resp = c.auth_api.create_login(models.LoginSerializerExRequest(username=username, password=password))
    assert resp.status == 200, resp.status
    assert "sessionid" in c.cookies and "csrftoken" in c.cookies, dict(c.cookies)
    if HAS_CSRF_HEADER_AUTH:
        c.configuration.api_key["csrfHeaderAuth"] = c.cookies["csrftoken"].value
    else:
        c.set_default_header("Authorization", "Token " + tok.key)
    return c, tok


def make_client(host, credentials):
    return core_client.make_client(host, credentials=credentials)


def create_access_token(admin_ll, name):
    """A new personal access token's value; skips the test if the server has no token endpoint."""
    try:
        data, _ = admin_ll.auth_api.create_access_tokens(models.AccessTokenWriteRequest(name=name))
    except exceptions.ApiException as e:
        if e.status in (404, 405, 501):
            pytest.skip(f"server has no POST /api/auth/access_tokens ({e.status})")
        raise
    return data.value


def register_user(host, prefix="user", password=None, first_name="Test", last_name="User", email=None):
    """Registers a user on a fresh anonymous client (registration logs the new user in, which
    must not replace anybody else's session) and returns its credentials and id."""
    username = f"{prefix}_{token(4)}"
    password = password or fresh_password()
    email = email if email is not None else f"{username}@example.com"
    c = new_client(host)
    data, resp = c.auth_api.create_register(models.RegisterSerializerExRequest(
        username=username, password1=password, password2=password, email=email,
        first_name=first_name, last_name=last_name))
    assert resp.status == 201, resp.status
    assert data.username == username
    c.close()
    own, _ = login_low_level(host, username, password)
    me, _ = own.users_api.retrieve_self()
    own.close()
    return SimpleNamespace(username=username, password=password, email=email, id=me.id,
                           first_name=first_name, last_name=last_name)


def mail_to(server, address, timeout=30.0):
    """(message, plain-text body) of the mail to `address` that a server without SMTP wrote as
    an `.eml` file under its working folder (the development backend)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(server.workdir.rglob("mail/*.eml")):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if msg["To"] and address in str(msg["To"]):
                return msg, msg.get_body(preferencelist=("plain",)).get_content()
        time.sleep(0.05)
    raise AssertionError(f"no mail to {address} under {server.workdir}")


def composed(model):
    """Which of MetaUser's anyOf schemas a response matched: ['BasicUser'] or ['BasicUser', 'User']."""
    return sorted(type(c).__name__ for c in getattr(model, "_composed_instances", []))


def body_of(exc):
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return body or ""


def json_body(exc):
    return json.loads(body_of(exc))


def raises(exc_class, status, call, *args, **kwargs):
    """Runs call, expects exactly the SDK exception class `exc_class` with HTTP `status`."""
    with pytest.raises(exceptions.ApiException) as info:
        call(*args, **kwargs)
    e = info.value
    assert type(e) is exc_class, f"{type(e).__name__} (status {e.status}), expected {exc_class.__name__}"
    assert e.status == status, f"status {e.status}, expected {status}; body {body_of(e)!r}"
    return e


@contextlib.contextmanager
def recording(api_client):
    """Records (method, url, query_params, headers) of every request this ApiClient sends."""
    rest = api_client.rest_client
    calls = []
    orig = rest.request

    def traced(method, url, *args, **kwargs):
        query = kwargs.get("query_params") if "query_params" in kwargs else (args[0] if args else None)
        headers = kwargs.get("headers") if "headers" in kwargs else (args[1] if len(args) > 1 else None)
        calls.append(SimpleNamespace(method=method, url=url, query=list(query or []),
                                     headers=dict(headers or {})))
        return orig(method, url, *args, **kwargs)

    rest.request = traced
    try:
        yield calls
    finally:
        rest.request = orig
