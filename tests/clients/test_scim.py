"""SCIM provisioning (issue 17) seen through the official clients: a user an identity provider
creates at /scim/v2 signs in with this cvat-sdk, shows in the admin's views, joins an
organization and is listed among its members (and in its SCIM `groups`), and is signed out
everywhere when the provider turns it off.

The SCIM side is plain HTTP (urllib): scim2-client needs its own HTTP stack (httpx2), which the
cvat-sdk venvs do not carry; scripts/scim-compliance drives the server with scim2-client and
scim2-tester instead.
"""

import json
import urllib.error
import urllib.request

from cvat_sdk.api_client import exceptions

import sdkutil
from sdkutil import raises

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _call(host, method, path, auth, body=None, content_type="application/json"):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": auth}
    if data is not None:
        headers["Content-Type"] = content_type
    req = urllib.request.Request(host + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def _admin_token(server):
    status, body = _call(server.host, "POST", "/api/auth/login", "", {"username": server.user, "password": server.password})
    assert status == 200, body
    return "Token " + body["key"]


def _scim_token(server, admin):
    status, body = _call(server.host, "POST", "/api/auth/access_tokens", admin, {"name": "idp", "scim": True})
    assert status == 201 and body["scim"] is True, body
    return "Bearer " + body["value"]


def test_a_provisioned_user_signs_in_joins_an_organization_and_is_deprovisioned(server, admin_ll):
    admin = _admin_token(server)
    scim = _scim_token(server, admin)
    username = "scim" + sdkutil.token(4)
    password = sdkutil.fresh_password()
    status, user = _call(server.host, "POST", "/scim/v2/Users", scim, {
        "schemas": [USER],
        "userName": username,
        "externalId": "okta-" + username,
        "name": {"givenName": "Pat", "familyName": "Provisioned"},
        "emails": [{"value": username + "@example.com", "primary": True}],
        "active": True,
        "password": password,
    }, content_type="application/scim+json")
    assert status == 201, user
    uid = int(user["id"])

    # The user signs in through this SDK and sees itself as provisioned.
    client, _ = sdkutil.login_low_level(server.host, username, password)
    me, _ = client.users_api.retrieve_self()
    assert (me.id, me.username, me.first_name, me.last_name) == (uid, username, "Pat", "Provisioned")
    # The admin's SDK sees the same account.
    seen, _ = admin_ll.users_api.retrieve(uid)
    assert seen.email == username + "@example.com" and seen.is_active

    # An administrator's invitation of an existing account makes it a member at once.
    slug = "s" + sdkutil.token(4)
    status, org = _call(server.host, "POST", "/api/organizations", admin, {"slug": slug})
    assert status == 201, org
    status, inv = _call(server.host, "POST", f"/api/invitations?org={slug}", admin,
                        {"role": "worker", "email": username + "@example.com"})
    assert status == 201, inv
    # The organization's users (2.3.0's SDK cannot read the owner's membership row, whose
    # invitation is null, so the members are read as the users list in the organization).
    members, _ = admin_ll.users_api.list(org=slug, page_size=100)
    assert uid in [u.id for u in members.results]
    status, again = _call(server.host, "GET", f"/scim/v2/Users/{uid}", scim)
    assert status == 200 and again["groups"] == [{"value": str(org["id"]), "display": slug, "type": "direct"}], again

    # Turned off by the provider: its sessions end at once.
    client.users_api.retrieve_self()
    status, off = _call(server.host, "PATCH", f"/scim/v2/Users/{uid}", scim, {
        "schemas": [PATCH], "Operations": [{"op": "Replace", "value": {"active": "False"}}],
    }, content_type="application/scim+json")
    assert status == 200 and off["active"] is False, off
    raises(exceptions.UnauthorizedException, 401, client.users_api.retrieve_self)
    seen, _ = admin_ll.users_api.retrieve(uid)
    assert not seen.is_active
    client.close()


def test_scim_tokens_are_refused_by_the_sdk_api_and_sdk_credentials_at_scim(server, admin_ll):
    admin = _admin_token(server)
    scim = _scim_token(server, admin)
    bearer = sdkutil.new_client(server.host)
    bearer.set_default_header("Authorization", scim)
    raises(exceptions.UnauthorizedException, 401, bearer.users_api.retrieve_self)
    status, body = _call(server.host, "GET", "/scim/v2/Users", admin)
    assert status == 401 and body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], body
    assert body["status"] == "401"
    bearer.close()
