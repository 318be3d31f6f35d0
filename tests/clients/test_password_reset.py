"""Password reset through the official clients: `auth_api.create_password_reset` and
`create_password_reset_confirm`, with the link read from the mail the server wrote.

The session's server has no SMTP server configured, so its development backend writes each mail
as an `.eml` file under its working folder (beside the SQLite file, or in ./cvat-data/ with
PostgreSQL); the Rust API tests cover real SMTP delivery.
"""

from urllib.parse import parse_qs, urlsplit

from cvat_sdk.api_client import exceptions, models

import sdkutil
from sdkutil import raises


def _link(text):
    line = next(l for l in text.splitlines() if "/auth/password/reset/confirm?" in l)
    query = parse_qs(urlsplit(line.strip()).query)
    return query["uid"][0], query["token"][0]


def test_password_reset_through_the_sdk(server, host, new_user):
    user = new_user("reset")
    c = sdkutil.new_client(host)
    data, resp = c.auth_api.create_password_reset(
        models.PasswordResetSerializerExRequest(email=user.email))
    assert resp.status == 200
    assert data.detail == "Password reset e-mail has been sent."
    # Unknown addresses get the same answer.
    data, _ = c.auth_api.create_password_reset(
        models.PasswordResetSerializerExRequest(email="nobody-" + sdkutil.token() + "@example.com"))
    assert data.detail == "Password reset e-mail has been sent."

    msg, text = sdkutil.mail_to(server, user.email)
    assert msg["Subject"].endswith("] Password Reset E-mail")
    uid, token = _link(text)
    assert int(uid, 36) == user.id  # Django's base36 uid

    new_password = sdkutil.fresh_password()
    e = raises(exceptions.ApiException, 400, c.auth_api.create_password_reset_confirm,
               models.PasswordResetConfirmRequest(new_password1=new_password, new_password2=new_password,
                                                  uid=uid, token=token + "0"))
    assert sdkutil.json_body(e) == {"token": ["Invalid value"]}

    data, resp = c.auth_api.create_password_reset_confirm(
        models.PasswordResetConfirmRequest(new_password1=new_password, new_password2=new_password,
                                           uid=uid, token=token))
    assert resp.status == 200
    assert data.detail == "Password has been reset with the new password."
    c.close()

    raises(exceptions.ApiException, 400, sdkutil.login_low_level, host, user.username, user.password)
    own, _ = sdkutil.login_low_level(host, user.username, new_password)
    me, _ = own.users_api.retrieve_self()
    assert me.id == user.id
    own.close()
