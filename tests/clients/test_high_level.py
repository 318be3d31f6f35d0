"""The official high-level client (cvat_sdk.core: make_client, Client.users) against a real cvat-server."""

import json
import logging

import packaging.version as pv
import pytest

from cvat_sdk.api_client import exceptions, models
from cvat_sdk.core import client as core_client

import sdkutil
from sdkutil import raises


def _pages_requested(calls):
    return [dict(c.query).get("page") for c in calls if c.method == "GET" and c.url.endswith("/api/users")]


def test_make_client_logs_in(server, caplog):
    with caplog.at_level(logging.WARNING):
        c = sdkutil.make_client(server.host, (server.user, server.password))
    assert c.has_credentials()
    # The version check must have parsed About (a 401/500 would only have been a warning).
    assert not [r for r in caplog.records if "Failed to retrieve" in r.getMessage()]
    pv.Version(str(c.get_server_version()))
    ac = c.api_client
    assert "sessionid" in ac.cookies and "csrftoken" in ac.cookies
    if sdkutil.HAS_CSRF_HEADER_AUTH:
        assert ac.configuration.api_key["csrfHeaderAuth"] == ac.cookies["csrftoken"].value
    else:
        assert ac.default_headers["Authorization"].startswith("Token ")


def test_make_client_wrong_password_is_400(host, new_user):
    u = new_user("hlbad")
    e = raises(exceptions.ApiException, 400, sdkutil.make_client, host, (u.username, u.password + "-wrong"))
    assert sdkutil.json_body(e) == {"non_field_errors": ["Unable to log in with provided credentials."]}


@sdkutil.needs(sdkutil.HAS_SCHEMA_DETECTION, "scheme detection for hosts without http(s)://")
def test_scheme_detection(host):
    c = core_client.Client(host.split("://", 1)[1])
    assert c.api_client.configuration.host == host


def test_retrieve_current_user(server, admin_hl):
    me = admin_hl.users.retrieve_current_user()
    assert (me.username, me.email, me.is_staff, me.is_superuser, me.groups) == (
        server.user, server.email, True, True, ["admin"])


def test_users_list_walks_all_pages(admin_hl, crowd):
    count = admin_hl.api_client.users_api.list()[0].count
    assert count > 10, "needs more than one page of the default size"
    with sdkutil.recording(admin_hl.api_client) as calls:
        users = admin_hl.users.list()
    pages = _pages_requested(calls)
    assert pages == list(range(1, (count + 9) // 10 + 1))
    ids = [u.id for u in users]
    assert len(ids) == count and len(set(ids)) == count
    assert set(crowd.ids) <= set(ids)
    assert ids == sorted(ids, reverse=True)


def test_users_list_return_json(admin_hl, crowd):
    data = json.loads(admin_hl.users.list(return_json=True))
    assert isinstance(data, list) and len(data) > 10
    assert set(crowd.ids) <= {d["id"] for d in data}
    assert all("username" in d and "email" in d for d in data)


@sdkutil.needs(sdkutil.HAS_LIST_KWARGS, "query parameters on repo.list()")
def test_users_list_with_query_params(admin_hl, crowd):
    with sdkutil.recording(admin_hl.api_client) as calls:
        users = admin_hl.users.list(search=crowd.first_name, page_size=5, sort="id")
    assert [u.id for u in users] == crowd.ids
    assert _pages_requested(calls) == [1, 2, 3]
    assert [u.id for u in admin_hl.users.list(username=crowd.users[3].username)] == [crowd.users[3].id]
    users = admin_hl.users.list(first_name=crowd.first_name, is_active=True)
    assert sorted(u.id for u in users) == crowd.ids


@sdkutil.needs(sdkutil.HAS_FILTER_DSL, "filter DSL / field__op lookups on repo.list()")
def test_users_list_with_filters(admin_hl, crowd):
    F = sdkutil.F
    target = crowd.users[2]
    assert [u.id for u in admin_hl.users.list(filter=F.username == target.username)] == [target.id]
    picked = crowd.ids[1:4]
    assert sorted(u.id for u in admin_hl.users.list(id__in=picked)) == picked
    lo, hi = crowd.ids[3], crowd.ids[8]
    assert sorted(u.id for u in admin_hl.users.list(id__between=(lo, hi))) == crowd.ids[3:9]
    assert sorted(u.id for u in admin_hl.users.list(id__gte=lo, id__lt=hi)) == crowd.ids[3:8]
    rest = admin_hl.users.list(search=crowd.first_name, id__ne=target.id)
    assert sorted(u.id for u in rest) == [i for i in crowd.ids if i != target.id]
    part = target.username[len("crowd_"):]
    assert [u.id for u in admin_hl.users.list(username__contains=part)] == [target.id]
    both = admin_hl.users.list(filter=(F.id == crowd.ids[0]) | (F.id == crowd.ids[-1]))
    assert sorted(u.id for u in both) == [crowd.ids[0], crowd.ids[-1]]


def test_retrieve_and_fetch(admin_hl, crowd):
    target = crowd.users[0]
    u = admin_hl.users.retrieve(target.id)
    assert (u.id, u.username, u.first_name, u.email) == (target.id, target.username, target.first_name, target.email)
    assert u.fetch().username == target.username


def test_retrieve_unknown_is_404(admin_hl):
    raises(exceptions.NotFoundException, 404, admin_hl.users.retrieve, 987654321)


def test_update_as_admin(admin_hl, new_user):
    target = new_user("hlupd")
    u = admin_hl.users.retrieve(target.id)
    with sdkutil.recording(admin_hl.api_client) as calls:
        u.update({"first_name": "HL", "last_name": "Updated"})  # PATCH, then GET
    assert [c.method for c in calls] == ["PATCH", "GET"]
    assert (u.first_name, u.last_name) == ("HL", "Updated")
    u.update(models.PatchedUserRequest(last_name="ViaModel", is_active=False))
    fresh = admin_hl.users.retrieve(target.id)
    assert (fresh.first_name, fresh.last_name, fresh.is_active) == ("HL", "ViaModel", False)


def test_remove_then_404(admin_hl, new_user):
    target = new_user("hlrm")
    admin_hl.users.retrieve(target.id).remove()
    raises(exceptions.NotFoundException, 404, admin_hl.users.retrieve, target.id)


def test_non_admin_client(host, server, admin_hl, new_user):
    u = new_user("hlplain")
    c = sdkutil.make_client(host, (u.username, u.password))
    me = c.users.retrieve_current_user()
    assert (me.id, me.email, me.is_staff, me.groups) == (u.id, u.email, False, ["user"])
    admin_id = admin_hl.users.retrieve_current_user().id
    e = raises(exceptions.ForbiddenException, 403, c.users.retrieve, admin_id)
    assert "detail" in sdkutil.json_body(e)
    assert [x.id for x in c.users.list()] == [u.id]
    # an unsafe request on the client's own auth (2.80: session cookie + X-CSRFToken + Origin)
    with sdkutil.recording(c.api_client) as calls:
        me.update({"first_name": "Own", "last_name": "Change"})
    assert (me.first_name, me.last_name) == ("Own", "Change")
    patch = calls[0]
    assert patch.method == "PATCH"
    if sdkutil.HAS_CSRF_HEADER_AUTH:
        assert patch.headers.get("X-CSRFToken") == c.api_client.cookies["csrftoken"].value
        assert "Authorization" not in patch.headers
    e = raises(exceptions.ApiException, 400, me.update, {"is_staff": True})
    assert "You do not have permissions to access some of these fields" in sdkutil.body_of(e)


@sdkutil.needs(sdkutil.HAS_ORG_SLUG, "Client.organization_slug")
def test_organization_slug_empty(server, admin_hl):
    admin_hl.organization_slug = ""  # personal workspace: sends an empty X-Organization header
    try:
        with sdkutil.recording(admin_hl.api_client) as calls:
            assert admin_hl.users.retrieve_current_user().username == server.user
            assert server.user in [u.username for u in admin_hl.users.list()]
        assert len(calls) >= 2 and all(c.headers.get("X-Organization", None) == "" for c in calls)
    finally:
        admin_hl.organization_slug = None


@sdkutil.needs(sdkutil.HAS_PAT, "access-token (Bearer) support")
def test_access_token_client(server, admin_ll):
    value = sdkutil.create_access_token(admin_ll, "pytest-hl")
    c = core_client.make_client(server.host, access_token=value)
    assert c.users.retrieve_current_user().username == server.user


def test_logout(host, new_user):
    u = new_user("hllogout")
    c = sdkutil.make_client(host, (u.username, u.password))
    c.logout()
    assert not c.has_credentials()
    with pytest.raises((exceptions.UnauthorizedException, exceptions.ForbiddenException)):
        c.users.retrieve_current_user()
