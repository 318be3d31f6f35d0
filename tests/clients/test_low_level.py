"""The official low-level client (cvat_sdk.api_client.ApiClient) against a real cvat-server."""

import json
from urllib.parse import urlencode

import packaging.version as pv
import pytest

from cvat_sdk.api_client import exceptions, models

import sdkutil
from sdkutil import composed, json_body, raises

BASIC_KEYS = {"url", "id", "username", "first_name", "last_name"}


def raw(resp):
    return json.loads(resp.data)


# --- server about ----------------------------------------------------------------------------

def test_about_anonymous(host):
    data, resp = sdkutil.new_client(host).server_api.retrieve_about()
    assert resp.status == 200
    pv.Version(data.version)  # the high-level Client crashes if this is not PEP 440
    assert data.name == "Computer Vision Annotation Tool"
    assert {"name", "description", "version", "logo_url", "subtitle"} <= set(raw(resp))
    if sdkutil.ABOUT_HAS_LOGO:  # required fields of the About model since 2.80
        assert isinstance(data.logo_url, str)
        assert isinstance(data.subtitle, str)


# --- login / auth modes ----------------------------------------------------------------------

def test_anonymous_self_is_401(host):
    e = raises(exceptions.UnauthorizedException, 401, sdkutil.new_client(host).users_api.retrieve_self)
    assert json_body(e) == {"detail": "Authentication credentials were not provided."}


def test_login_returns_token_and_cookies(server):
    c = sdkutil.new_client(server.host)
    tok, resp = c.auth_api.create_login(
        models.LoginSerializerExRequest(username=server.user, password=server.password))
    assert resp.status == 200
    assert isinstance(tok.key, str) and 0 < len(tok.key) <= 40
    assert c.cookies["sessionid"].value and c.cookies["csrftoken"].value
    assert c.cookies["sessionid"].value != c.cookies["csrftoken"].value


def test_login_with_email(server):
    c = sdkutil.new_client(server.host)
    tok, resp = c.auth_api.create_login(models.LoginSerializerExRequest(email=server.email, password=server.password))
    assert resp.status == 200 and tok.key


def test_login_wrong_password_is_400(host, new_user):
    u = new_user("badpw")
    e = raises(exceptions.ApiException, 400, sdkutil.new_client(host).auth_api.create_login,
               models.LoginSerializerExRequest(username=u.username, password=u.password + "-wrong"))
    assert json_body(e) == {"non_field_errors": ["Unable to log in with provided credentials."]}


def test_native_auth_of_this_sdk(server, admin_ll):
    me, resp = admin_ll.users_api.retrieve_self()
    assert resp.status == 200 and me.username == server.user
    if sdkutil.HAS_CSRF_HEADER_AUTH:
        assert "Authorization" not in admin_ll.default_headers
    else:
        assert admin_ll.default_headers["Authorization"].startswith("Token ")


def test_token_auth_via_configuration(server):
    _, tok = sdkutil.login_low_level(server.host, server.user, server.password)
    c = sdkutil.new_client(server.host, api_key={"tokenAuth": tok.key})
    with sdkutil.recording(c) as calls:
        me, _ = c.users_api.retrieve_self()
    assert me.username == server.user
    assert calls[0].headers["Authorization"] == "Token " + tok.key


def test_bad_token_is_401(host):
    c = sdkutil.new_client(host, api_key={"tokenAuth": "0" * 40})
    e = raises(exceptions.UnauthorizedException, 401, c.users_api.retrieve_self)
    assert json_body(e) == {"detail": "Invalid token."}


def test_basic_auth_via_configuration(server):
    c = sdkutil.new_client(server.host, username=server.user, password=server.password)
    with sdkutil.recording(c) as calls:
        me, _ = c.users_api.retrieve_self()
    assert me.username == server.user
    assert calls[0].headers["Authorization"].startswith("Basic ")


def test_basic_auth_wrong_password_is_401(host, new_user):
    u = new_user("basic")
    c = sdkutil.new_client(host, username=u.username, password=u.password + "-wrong")
    e = raises(exceptions.UnauthorizedException, 401, c.users_api.retrieve_self)
    assert json_body(e) == {"detail": "Invalid username/password."}


def test_session_cookie_auth_for_get(server):
    logged, _ = sdkutil.login_low_level(server.host, server.user, server.password)
    c = sdkutil.new_client(server.host, api_key={"sessionAuth": logged.cookies["sessionid"].value,
                                                 "csrfAuth": logged.cookies["csrftoken"].value})
    me, resp = c.users_api.retrieve_self()
    assert resp.status == 200 and me.username == server.user


def _plain_session(host, user):
    """Logs in on a fresh client and returns (sessionid, csrftoken) without any Token header."""
    c = sdkutil.new_client(host)
    c.auth_api.create_login(models.LoginSerializerExRequest(username=user.username, password=user.password))
    return c.cookies["sessionid"].value, c.cookies["csrftoken"].value


@sdkutil.needs(sdkutil.HAS_CSRF_HEADER_AUTH, "csrfHeaderAuth (X-CSRFToken) support")
def test_session_cookie_unsafe_request_with_csrf_header(host, new_user):
    u = new_user("csrf")
    sid, csrf = _plain_session(host, u)
    c = sdkutil.new_client(host, api_key={"sessionAuth": sid, "csrfAuth": csrf, "csrfHeaderAuth": csrf})
    with sdkutil.recording(c) as calls:
        m, resp = c.users_api.partial_update(u.id, patched_user_request=models.PatchedUserRequest(first_name="Csrf"))
    assert resp.status == 200 and m.first_name == "Csrf"
    sent = calls[0].headers
    assert sent["X-CSRFToken"] == csrf and "Authorization" not in sent
    assert sent["Origin"] == host


def test_session_cookie_unsafe_request_without_csrf_header_is_403(host, new_user):
    # No SDK before 2.80 can send X-CSRFToken; with 2.80 we simply don't configure it.
    u = new_user("nocsrf")
    sid, _ = _plain_session(host, u)
    c = sdkutil.new_client(host, api_key={"sessionAuth": sid})
    e = raises(exceptions.ForbiddenException, 403, c.users_api.partial_update, u.id,
               patched_user_request=models.PatchedUserRequest(first_name="Nope"))
    assert json_body(e)["detail"].startswith("CSRF Failed")


@sdkutil.needs(sdkutil.HAS_PAT, "access-token (Bearer) support")
def test_access_token_auth(server, admin_ll):
    value = sdkutil.create_access_token(admin_ll, "pytest")
    me, _ = sdkutil.new_client(server.host, access_token=value).users_api.retrieve_self()
    assert me.username == server.user


# --- register / password change / logout -----------------------------------------------------

def test_register(host):
    c = sdkutil.new_client(host)
    name = "reg_" + sdkutil.token(4)
    data, resp = c.auth_api.create_register(models.RegisterSerializerExRequest(
        username=name, password1="Reg-pass-1234", password2="Reg-pass-1234",
        email=name + "@example.com", first_name="Reg", last_name="Istered"))
    assert resp.status == 201
    assert (data.username, data.email, data.first_name, data.last_name) == (
        name, name + "@example.com", "Reg", "Istered")
    # CVAT logs the new user in: the registering client now has a session of its own.
    assert "sessionid" in c.cookies and "csrftoken" in c.cookies
    me, _ = c.users_api.retrieve_self()  # a GET on the session cookie alone
    assert me.username == name and me.groups == ["user"] and me.is_staff is False


def test_register_duplicate_username_is_400(host, new_user):
    u = new_user("dup")
    e = raises(exceptions.ApiException, 400, sdkutil.new_client(host).auth_api.create_register,
               models.RegisterSerializerExRequest(username=u.username, password1="Dup-pass-1234",
                                                  password2="Dup-pass-1234"))
    assert json_body(e)["username"] == ["A user with that username already exists."]


def test_register_password_mismatch_is_400(host):
    e = raises(exceptions.ApiException, 400, sdkutil.new_client(host).auth_api.create_register,
               models.RegisterSerializerExRequest(username="mis_" + sdkutil.token(4),
                                                  password1="Mis-pass-1234", password2="Mis-pass-5678"))
    assert json_body(e) == {"non_field_errors": ["The two password fields didn't match."]}


def test_password_change(host, new_user):
    u = new_user("pwchg")
    c, _ = sdkutil.login_low_level(host, u.username, u.password)
    new_pw = sdkutil.fresh_password()
    d, resp = c.auth_api.create_password_change(models.PasswordChangeRequest(
        old_password=u.password, new_password1=new_pw, new_password2=new_pw))
    assert resp.status == 200 and d.detail == "New password has been saved."
    me, _ = c.users_api.retrieve_self()  # the session survives the change
    assert me.username == u.username
    sdkutil.login_low_level(host, u.username, new_pw)
    e = raises(exceptions.ApiException, 400, sdkutil.new_client(host).auth_api.create_login,
               models.LoginSerializerExRequest(username=u.username, password=u.password))
    assert json_body(e) == {"non_field_errors": ["Unable to log in with provided credentials."]}


def test_password_change_wrong_old_password_is_400(host, new_user):
    u = new_user("pwold")
    c, _ = sdkutil.login_low_level(host, u.username, u.password)
    e = raises(exceptions.ApiException, 400, c.auth_api.create_password_change, models.PasswordChangeRequest(
        old_password=u.password + "-wrong", new_password1="Whatever-123x", new_password2="Whatever-123x"))
    assert json_body(e) == {
        "old_password": ["Your old password was entered incorrectly. Please enter it again."]}


def test_password_change_anonymous_is_401(host):
    raises(exceptions.UnauthorizedException, 401, sdkutil.new_client(host).auth_api.create_password_change,
           models.PasswordChangeRequest(old_password="Whatever-123x", new_password1="Whatever-456x",
                                        new_password2="Whatever-456x"))


def test_logout(host, new_user):
    u = new_user("logout")
    c, _ = sdkutil.login_low_level(host, u.username, u.password)
    d, resp = c.auth_api.create_logout()
    assert resp.status == 200 and d.detail == "Successfully logged out."
    with pytest.raises((exceptions.UnauthorizedException, exceptions.ForbiddenException)):
        c.users_api.retrieve_self()


# --- list: paging, search, filter, sort ------------------------------------------------------

def test_list_default_page(admin_ll, crowd):
    data, resp = admin_ll.users_api.list()
    assert resp.status == 200
    assert data.count >= 13
    assert len(data.results) == 10  # CVAT's default page size
    assert data.next and data.previous is None
    ids = [u.id for u in data.results]
    assert ids == sorted(ids, reverse=True)  # default ordering -id
    assert all("User" in composed(u) for u in data.results)  # admins get full users in lists
    assert set(raw(resp)) == {"count", "next", "previous", "results"}


def test_list_paging_page_size_1(admin_ll, crowd):
    seen, page = [], 1
    while True:
        p, resp = admin_ll.users_api.list(page=page, page_size=1, search=crowd.first_name)
        assert resp.status == 200 and p.count == len(crowd.users)
        assert len(p.results) == 1
        seen.append(p.results[0].id)
        if page == 1:
            assert p.previous is None
        else:
            assert p.previous
        if page < p.count:
            assert p.next and "page=%d" % (page + 1) in p.next and "page_size=1" in p.next
        else:
            assert p.next is None
            break
        page += 1
    assert page == len(crowd.users)
    assert seen == sorted(crowd.ids, reverse=True)
    e = raises(exceptions.NotFoundException, 404, admin_ll.users_api.list,
               page=page + 1, page_size=1, search=crowd.first_name)
    assert json_body(e) == {"detail": "Invalid page."}


def test_list_search(admin_ll, crowd):
    data, _ = admin_ll.users_api.list(search=crowd.first_name, page_size=100)
    assert sorted(u.id for u in data.results) == crowd.ids
    data, _ = admin_ll.users_api.list(search=crowd.first_name.lower(), page_size=100)
    assert data.count == len(crowd.users)  # case-insensitive
    # two terms (sent as "first+Member03"): every term must match one of the fields
    data, _ = admin_ll.users_api.list(search=f"{crowd.first_name} Member03")
    assert [u.last_name for u in data.results] == ["Member03"]
    data, _ = admin_ll.users_api.list(search=crowd.users[5].username)
    assert [u.id for u in data.results] == [crowd.users[5].id]


def test_list_filter_json_logic(server, admin_ll, crowd):
    flt = json.dumps({"==": [{"var": "username"}, server.user]})
    with sdkutil.recording(admin_ll) as calls:
        data, _ = admin_ll.users_api.list(filter=flt)
    assert [u.username for u in data.results] == [server.user]
    # the SDK form-encodes the query: spaces in the JSON become '+', the rest is percent-encoded
    encoded = urlencode(calls[0].query)
    assert "filter=%7B%22%3D%3D%22%3A+%5B" in encoded

    lo, hi = crowd.ids[2], crowd.ids[6]
    flt = json.dumps({"and": [{">=": [{"var": "id"}, lo]}, {"<=": [{"var": "id"}, hi]},
                              {"==": [{"var": "is_active"}, True]}]})
    data, _ = admin_ll.users_api.list(filter=flt, page_size=100)
    assert sorted(u.id for u in data.results) == [i for i in crowd.ids if lo <= i <= hi]

    picked = [crowd.users[0], crowd.users[7]]
    flt = json.dumps({"in": [{"var": "username"}, [u.username for u in picked]]})
    data, _ = admin_ll.users_api.list(filter=flt)
    assert sorted(u.id for u in data.results) == sorted(u.id for u in picked)

    flt = json.dumps({"!": {"in": [{"var": "id"}, crowd.ids]}})
    data, _ = admin_ll.users_api.list(filter=flt, search=crowd.first_name)
    assert data.count == 0 and data.results == []


def test_list_filter_errors_are_400(admin_ll):
    e = raises(exceptions.ApiException, 400, admin_ll.users_api.list, filter="nojson")
    assert json_body(e) == ["filter: Json syntax should be used"]
    e = raises(exceptions.ApiException, 400, admin_ll.users_api.list,
               filter=json.dumps({"==": [{"var": "email"}, "a@b.c"]}))
    assert json_body(e) == ["filter: 'email' term is not supported"]


def test_list_sort(admin_ll, crowd):
    ids = lambda d: [u.id for u in d.results]  # noqa: E731
    asc, _ = admin_ll.users_api.list(sort="id", page_size=100)
    desc, _ = admin_ll.users_api.list(sort="-id", page_size=100)
    assert ids(asc) == sorted(ids(asc)) and len(ids(asc)) == asc.count
    assert ids(desc) == sorted(ids(asc), reverse=True)
    by_name, _ = admin_ll.users_api.list(sort="username", search=crowd.first_name, page_size=100)
    assert [u.username for u in by_name.results] == sorted(u.username for u in crowd.users)
    by_name, _ = admin_ll.users_api.list(sort="-username", search=crowd.first_name, page_size=100)
    assert [u.username for u in by_name.results] == sorted((u.username for u in crowd.users), reverse=True)


@sdkutil.needs(sdkutil.HAS_SIMPLE_FILTERS, "simple filters on users.list (2.4+)")
def test_list_simple_filters(server, admin_ll, crowd):
    data, _ = admin_ll.users_api.list(username=server.user, is_active=True)
    assert [u.username for u in data.results] == [server.user]
    data, _ = admin_ll.users_api.list(first_name=crowd.first_name, last_name="Member04")
    assert [u.id for u in data.results] == [crowd.users[4].id]
    data, _ = admin_ll.users_api.list(first_name=crowd.first_name, is_active=False)
    assert data.count == 0


def test_list_empty_org_selects_personal_workspace(server, admin_ll):
    # '' = personal workspace: admins see every user without an organization membership
    for kw in ({"x_organization": ""}, {"org": ""}):
        data, resp = admin_ll.users_api.list(filter=json.dumps({"==": [{"var": "username"}, server.user]}), **kw)
        assert resp.status == 200 and [u.username for u in data.results] == [server.user], kw


# --- retrieve --------------------------------------------------------------------------------

def test_retrieve_as_admin_gets_full_user(server, admin_ll, crowd):
    me, _ = admin_ll.users_api.retrieve_self()
    m, resp = admin_ll.users_api.retrieve(me.id)
    assert resp.status == 200
    assert "User" in composed(m)
    assert (m.username, m.email, m.groups, m.is_staff, m.is_superuser, m.is_active) == (
        server.user, server.email, ["admin"], True, True, True)
    assert m.last_login is not None and m.date_joined is not None
    other, _ = admin_ll.users_api.retrieve(crowd.users[0].id)
    assert "User" in composed(other)
    assert (other.username, other.groups, other.is_staff) == (crowd.users[0].username, ["user"], False)
    assert other.email == crowd.users[0].email


def test_retrieve_unknown_is_404(admin_ll):
    e = raises(exceptions.NotFoundException, 404, admin_ll.users_api.retrieve, 987654321)
    assert json_body(e) == {"detail": "Not found."}


def test_non_admin_views(host, admin_ll, new_user):
    u = new_user("plain")
    c, _ = sdkutil.login_low_level(host, u.username, u.password)
    me, resp = c.users_api.retrieve_self()
    assert "User" in composed(me) and me.email == u.email and me.groups == ["user"]
    own, _ = c.users_api.retrieve(u.id)
    assert "User" in composed(own) and own.id == u.id
    admin_id = admin_ll.users_api.retrieve_self()[0].id
    e = raises(exceptions.ForbiddenException, 403, c.users_api.retrieve, admin_id)
    assert "detail" in json_body(e)
    # outside an organization a non-admin sees only himself in lists, as a BasicUser
    data, resp = c.users_api.list()
    assert data.count == 1 and [x.id for x in data.results] == [u.id]
    assert composed(data.results[0]) == ["BasicUser"]
    assert set(raw(resp)["results"][0]) == BASIC_KEYS


# --- partial_update --------------------------------------------------------------------------

def test_partial_update_as_admin(admin_ll, new_user):
    u = new_user("patch")
    m, resp = admin_ll.users_api.partial_update(u.id, patched_user_request=models.PatchedUserRequest(
        first_name="Patched", last_name="ByAdmin", email="patched_" + u.email))
    assert resp.status == 200 and "User" in composed(m)
    assert (m.first_name, m.last_name, m.email) == ("Patched", "ByAdmin", "patched_" + u.email)
    again, _ = admin_ll.users_api.retrieve(u.id)
    assert (again.first_name, again.last_name, again.email) == ("Patched", "ByAdmin", "patched_" + u.email)


def test_partial_update_as_self_non_staff_gets_basic_user(host, new_user):
    u = new_user("selfpatch")
    c, _ = sdkutil.login_low_level(host, u.username, u.password)
    m, resp = c.users_api.partial_update(u.id, patched_user_request=models.PatchedUserRequest(
        first_name="Self", last_name="Made"))
    assert resp.status == 200
    assert composed(m) == ["BasicUser"] and set(raw(resp)) == BASIC_KEYS
    assert (m.first_name, m.last_name) == ("Self", "Made")
    me, _ = c.users_api.retrieve_self()
    assert (me.first_name, me.last_name) == ("Self", "Made")


def test_partial_update_other_as_non_admin_is_403(host, admin_ll, new_user):
    u, victim = new_user("patcher"), new_user("victim")
    c, _ = sdkutil.login_low_level(host, u.username, u.password)
    raises(exceptions.ForbiddenException, 403, c.users_api.partial_update, victim.id,
           patched_user_request=models.PatchedUserRequest(first_name="Hacked"))
    assert admin_ll.users_api.retrieve(victim.id)[0].first_name == victim.first_name


def test_partial_update_errors_are_400(host, server, admin_ll, new_user):
    u = new_user("patcherr")
    e = raises(exceptions.ApiException, 400, admin_ll.users_api.partial_update, u.id,
               patched_user_request=models.PatchedUserRequest(username=server.user))
    assert json_body(e) == {"username": ["A user with that username already exists."]}
    c, _ = sdkutil.login_low_level(host, u.username, u.password)
    e = raises(exceptions.ApiException, 400, c.users_api.partial_update, u.id,
               patched_user_request=models.PatchedUserRequest(email="new@example.com"))
    assert json_body(e) == {"non_field_errors": ["Got unknown fields: {'email'}"]}


# --- destroy ---------------------------------------------------------------------------------

def test_destroy_then_404(host, admin_ll, new_user):
    u = new_user("destroy")
    data, resp = admin_ll.users_api.destroy(u.id)
    assert resp.status == 204 and data is None
    e = raises(exceptions.NotFoundException, 404, admin_ll.users_api.retrieve, u.id)
    assert json_body(e) == {"detail": "Not found."}
    raises(exceptions.NotFoundException, 404, admin_ll.users_api.destroy, u.id)
    raises(exceptions.ApiException, 400, sdkutil.new_client(host).auth_api.create_login,
           models.LoginSerializerExRequest(username=u.username, password=u.password))


def test_destroy_other_as_non_admin_is_403(host, new_user):
    u, victim = new_user("killer"), new_user("survivor")
    c, _ = sdkutil.login_low_level(host, u.username, u.password)
    raises(exceptions.ForbiddenException, 403, c.users_api.destroy, victim.id)


def test_destroy_self_as_non_admin(host, new_user):
    u = new_user("selfdel")
    c, _ = sdkutil.login_low_level(host, u.username, u.password)
    _, resp = c.users_api.destroy(u.id)
    assert resp.status == 204
    raises(exceptions.UnauthorizedException, 401, c.users_api.retrieve_self)
