"""Invitations through the official clients (spec account-lifecycle §4): the newest SDK's
accept/decline/resend/destroy, and cvat-sdk 2.3.0's create and partial_update parsed without
`_parse_response=False` (the server answers that client in a shape it reads), `?accepted`."""

import json
import urllib.request

import pytest

from cvat_sdk.api_client import exceptions, models
from cvat_sdk.api_client.api.invitations_api import InvitationsApi

import sdkutil
from sdkutil import raises

# Newest SDK: POST /api/invitations/{key}/accept, /decline, /resend.
HAS_ACTIONS = hasattr(InvitationsApi, "accept")
# cvat-sdk 2.3.0 (removed in 2.70): PATCH /api/invitations/{key}.
HAS_PATCH = hasattr(InvitationsApi, "partial_update")


def _raw(host, method, path, token, body=None):
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


@pytest.fixture
def org(server):
    """A fresh organization owned by a fresh user (set up over plain HTTP; the admin stays out
    of organizations, which other tests' personal-workspace lists rely on)."""
    owner = sdkutil.register_user(server.host, "own")
    slug = "i" + sdkutil.token(4)
    _raw(server.host, "POST", "/api/organizations", _token(server.host, owner.username, owner.password),
         {"slug": slug})
    return slug, owner


@pytest.fixture
def inviter(server, org):
    """The organization owner's low-level client."""
    client = _login(server, org[1])
    yield client
    client.close()


def _address():
    return f"invitee_{sdkutil.token(4)}@example.com"


def _invite(owner_ll, slug, email, role="worker"):
    data, resp = owner_ll.invitations_api.create(
        models.InvitationWriteRequest(role=role, email=email), org=slug)
    assert resp.status == 201
    return data


def _login(server, user):
    c, _ = sdkutil.login_low_level(server.host, user.username, user.password)
    return c


def test_users_parse_with_created_via(server):
    user = sdkutil.register_user(server.host, "via")
    c = _login(server, user)
    me, resp = c.users_api.retrieve_self()
    assert json.loads(resp.data)["created_via"] == "registration"
    assert me.id == user.id
    page, _ = c.users_api.list()
    assert [u.id for u in page.results] == [user.id]


@sdkutil.needs(HAS_ACTIONS, "invitations_api.accept")
def test_newest_accept_decline_resend_destroy(server, inviter, org):
    owner_ll, org = inviter, org[0]
    # An address without an account: a pending invitation, parsed as InvitationRead.
    email = _address()
    inv = _invite(owner_ll, org, email)
    assert inv.accepted is False and inv.expired is False
    assert inv.organization_info.slug == org
    invitee = sdkutil.register_user(server.host, "acc", email=email)
    c = _login(server, invitee)
    got, _ = c.invitations_api.retrieve(inv.key)
    assert got.user.id == invitee.id
    done, resp = c.invitations_api.accept(inv.key)
    assert resp.status == 200 and done.organization_slug == org
    e = raises(exceptions.ApiException, 400, c.invitations_api.accept, inv.key)
    assert sdkutil.json_body(e) == "Your invitation is already accepted."
    mine, _ = c.users_api.list(org=org)
    assert invitee.id in [u.id for u in mine.results]

    # Decline removes the membership with the invitation.
    email = _address()
    inv = _invite(owner_ll, org, email)
    other = sdkutil.register_user(server.host, "dec", email=email)
    oc = _login(server, other)
    raises(exceptions.ForbiddenException, 403, oc.invitations_api.resend, inv.key)
    _, resp = oc.invitations_api.decline(inv.key)
    assert resp.status == 204
    e = raises(exceptions.NotFoundException, 404, oc.invitations_api.retrieve, inv.key)
    assert sdkutil.json_body(e) == {"detail": "No Invitation matches the given query."}

    # Resend and destroy by the inviter.
    inv = _invite(owner_ll, org, _address())
    _, resp = owner_ll.invitations_api.resend(inv.key)
    assert resp.status == 204
    _, resp = owner_ll.invitations_api.destroy(inv.key)
    assert resp.status == 204
    raises(exceptions.NotFoundException, 404, owner_ll.invitations_api.retrieve, inv.key)
    for client in (c, oc):
        client.close()


@sdkutil.needs(HAS_PATCH, "invitations_api.partial_update")
def test_sdk_2_3_create_and_partial_update_parse(server, inviter, org):
    owner_ll, org = inviter, org[0]
    # create: an existing account joins at once; parsed without _parse_response=False.
    member = sdkutil.register_user(server.host, "old")
    data, resp = owner_ll.invitations_api.create(
        models.InvitationWriteRequest(role="worker", email=member.email), org=org)
    assert resp.status == 201
    assert data.email == member.email and str(data.role) == "worker"
    assert isinstance(data.owner, int)
    # partial_update without ?accepted: resend (nothing to do for an accepted one).
    again, resp = owner_ll.invitations_api.partial_update(data.key, org=org)
    assert resp.status == 200 and again.key == data.key

    # A pending invitation (address without an account), accepted with ?accepted.
    email = _address()
    pending, _ = owner_ll.invitations_api.create(
        models.InvitationWriteRequest(role="supervisor", email=email), org=org)
    invitee = sdkutil.register_user(server.host, "pat", email=email)
    c = _login(server, invitee)
    resent, resp = owner_ll.invitations_api.partial_update(pending.key, org=org)
    assert resp.status == 200 and resent.email == email
    api = c.invitations_api
    result = c.call_api(
        "/api/invitations/{key}", "PATCH", path_params={"key": pending.key},
        query_params=[("accepted", "")], header_params={"Content-Type": "application/json"},
        body={}, response_schema=(models.InvitationWrite,),
        auth_settings=api.partial_update_endpoint.settings["auth"])
    accepted, resp = result[0], result[1]
    assert resp.status == 200 and accepted.key == pending.key
    assert json.loads(resp.data)["accepted"] is True
    mine, _ = c.users_api.list(org=org)
    assert invitee.id in [u.id for u in mine.results]
    c.close()
