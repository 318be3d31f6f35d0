"""LDAP logins with the official clients, unchanged (issue 14, sso-and-mfa §4.0, §5.4): both
cvat-sdk versions log in with directory credentials through `POST /api/auth/login` and through
Basic, and use the API. The directory is a real slapd on loopback, started by
`tests/ldap/slapd-up.sh` (which installs Debian's slapd when missing); it stops with this
process. Users and passwords are that script's (`alice`/`alicepw`, `bobby`/`bobbypw`, ...).
"""

import os
import socket
import subprocess

import pytest

import sdkutil
from conftest import REPO_ROOT, _serve

from cvat_sdk.api_client import exceptions


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slapd")
    port = _free_port()
    started = subprocess.run(
        ["bash", str(REPO_ROOT / "tests/ldap/slapd-up.sh"), str(workdir), str(port), str(_free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600,
        env={**os.environ, "SLAPD_WATCH_PID": str(os.getpid())})
    assert started.returncode == 0, started.stderr.decode("utf-8", "replace")
    pid = int(started.stdout.decode().strip())
    yield f"ldap://127.0.0.1:{port}"
    subprocess.run(["kill", str(pid)], check=False)


@pytest.fixture(scope="module")
def ldap_host(slapd, tmp_path_factory):
    yield from (s.host for s in _serve(tmp_path_factory, [
        "--ldap-enabled", "--ldap-url", slapd,
        "--ldap-bind-dn", "cn=svc,dc=example,dc=test", "--ldap-bind-password", "svcpw",
        "--ldap-user-search-base", "ou=people,dc=example,dc=test",
        "--ldap-user-filter", "(&(objectClass=inetOrgPerson)(uid={username})(!(employeeType=disabled)))",
        "--ldap-group-search-base", "ou=groups,dc=example,dc=test",
        "--ldap-roles-admin", "cn=cvat-admins,ou=groups,dc=example,dc=test",
        "--ldap-roles-worker", "cn=cvat-workers,ou=groups,dc=example,dc=test",
    ]))


def test_both_login_paths_with_directory_credentials(ldap_host):
    with sdkutil.make_client(ldap_host, ("bobby", "bobbypw")) as client:
        me = client.users.retrieve_current_user()
        assert me.username == "bobby"
        assert me.email == "bobby@example.test"
        assert list(me.groups) == ["worker"]
    c, _ = sdkutil.login_low_level(ldap_host, "alice", "alicepw")
    me, _ = c.users_api.retrieve_self()
    assert me.username == "alice" and list(me.groups) == ["admin"] and me.is_superuser
    # An admin from the directory administers: the user list answers.
    page, _ = c.users_api.list(search="bobby")
    assert [u.username for u in page.results] == ["bobby"]


def test_basic_credentials_of_the_directory(ldap_host):
    basic = sdkutil.new_client(ldap_host, username="isaac", password="isaacpw")
    me, _ = basic.users_api.retrieve_self()
    assert me.username == "isaac"
    wrong = sdkutil.new_client(ldap_host, username="isaac", password="nope")
    sdkutil.raises(exceptions.UnauthorizedException, 401, wrong.users_api.retrieve_self)


def test_directory_refusals_look_like_wrong_passwords(ldap_host):
    for username, password in [("evelyn", "evelynpw"), ("carol", "carolpw"), ("*)(uid=*", "x")]:
        with pytest.raises(exceptions.ApiException) as e:
            sdkutil.make_client(ldap_host, (username, password))
        assert e.value.status == 400
