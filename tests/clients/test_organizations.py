"""Organization context through the official clients: per-call `org`/`org_id`/`x_organization`
(every SDK) and `Client.organization_slug` (cvat-sdk >= 2.4)."""

import json
import urllib.request

import pytest

from cvat_sdk.api_client import exceptions

import sdkutil
from sdkutil import raises


def _raw(host, method, path, token, body=None):
    """Plain HTTP for setting the scene, so only the calls under test go through the SDK."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(host + path, data=data, method=method,
                                 headers={"Authorization": "Token " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def _token(host, username, password):
    req = urllib.request.Request(host + "/api/auth/login", method="POST",
                                 data=json.dumps({"username": username, "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())["key"]


@pytest.fixture(scope="module")
def org(server):
    """An organization owned by the admin, with one invited member; and an outsider."""
    admin = _token(server.host, server.user, server.password)
    slug = "o" + sdkutil.token(4)
    created = _raw(server.host, "POST", "/api/organizations", admin, {"slug": slug})
    member = sdkutil.register_user(server.host, "orgm")
    outsider = sdkutil.register_user(server.host, "orgx")
    _raw(server.host, "POST", f"/api/invitations?org={slug}", admin, {"role": "worker", "email": member.email})
    return type("Org", (), dict(slug=slug, id=created["id"], member=member, outsider=outsider))


def _ids(page):
    return sorted(u.id for u in page.results)


def test_per_call_org_selectors_restrict_the_list(server, org):
    c, _ = sdkutil.login_low_level(server.host, org.member.username, org.member.password)
    by_slug, _ = c.users_api.list(org=org.slug, page_size=100)
    by_id, _ = c.users_api.list(org_id=org.id, page_size=100)
    by_header, _ = c.users_api.list(x_organization=org.slug, page_size=100)
    me, _ = c.users_api.retrieve_self()
    assert _ids(by_slug) == _ids(by_id) == _ids(by_header)
    assert me.id in _ids(by_slug) and org.outsider.id not in _ids(by_slug)
    # Other members come in the basic (5-field) view.
    assert all(sdkutil.composed(u) == ["BasicUser"] for u in by_slug.results)
    personal, _ = c.users_api.list()
    assert _ids(personal) == [me.id]


def test_non_member_gets_403_and_unknown_org_400(server, org):
    c, _ = sdkutil.login_low_level(server.host, org.outsider.username, org.outsider.password)
    e = raises(exceptions.ForbiddenException, 403, c.users_api.list, org=org.slug)
    assert sdkutil.json_body(e) == {"detail": "You should be an active member in the organization."}
    e = raises(exceptions.ApiException, 400, c.users_api.list, org="no-such-org")
    assert sdkutil.json_body(e) == {"detail": "no-such-org organization does not exist."}


@sdkutil.needs(sdkutil.HAS_ORG_SLUG, "Client.organization_slug")
def test_client_organization_slug(server, org):
    client = sdkutil.make_client(server.host, (org.member.username, org.member.password))
    try:
        client.organization_slug = org.slug
        in_org = sorted(u.id for u in client.users.list())
        assert org.member.id in in_org and org.outsider.id not in in_org
        assert client.users.retrieve_current_user().id == org.member.id
        # "" = the personal workspace: never rejected; a member has memberships, so the list is empty.
        client.organization_slug = ""
        assert client.users.retrieve_current_user().id == org.member.id
        assert client.users.list() == []
        client.organization_slug = None
        assert [u.id for u in client.users.list()] == [org.member.id]
    finally:
        client.close()
