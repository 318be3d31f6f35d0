//! The operations of blocked accounts and login locks (`http::users::access`) and of the
//! sessions list (`http::sessions`), beside `operations.rs`. Paths must match the router's
//! (`tests/api/schema.rs`).

use serde_json::json;

use super::document::{model, op, path_id, Op, AUTHENTICATED, DETAIL};

/// An administrator's view of an account's access, and the changes to it.
pub(super) fn access() -> Vec<Op> {
    let answer = |o: Op| {
        o.params([path_id("user")])
            .ok(
                200,
                "The account's access afterwards",
                model("AccountAccess"),
            )
            .errors(AUTHENTICATED)
            .errors(DETAIL)
    };
    vec![
        answer(op(
            "get",
            "/api/users/{id}/access",
            "users_retrieve_access",
            "Whether the account is blocked or its password logins locked (administrators only)",
        )),
        answer(op(
            "post",
            "/api/users/{id}/block",
            "users_create_block",
            "Block the account: no credential of it authenticates until it is unblocked (administrators only; not oneself, not the last admin)",
        ))
        .errors(&[409]),
        answer(op(
            "post",
            "/api/users/{id}/unblock",
            "users_create_unblock",
            "Unblock the account (administrators only)",
        )),
        answer(op(
            "delete",
            "/api/users/{id}/login-lock",
            "users_destroy_login_lock",
            "Forget the account's failed passwords and second-factor codes, ending both locks (administrators only)",
        )),
    ]
}

/// One's own credentials, and an administrator's view of anybody's.
pub(super) fn sessions() -> Vec<Op> {
    let sid = json!({
        "in": "path", "name": "sid", "required": true, "schema": {"type": "string"},
        "description": "A credential's id from the list: `session:<16 hex>`, `token:<16 hex>` or `access_token:<id>`"
    });
    let list = json!({"type": "array", "items": model("Credential")});
    vec![
        op(
            "get",
            "/api/auth/sessions",
            "auth_list_sessions",
            "Your sessions, login tokens and access tokens: when and where each was made",
        )
        .ok(200, "", list.clone())
        .errors(AUTHENTICATED),
        op(
            "post",
            "/api/auth/sessions/revoke-all",
            "auth_create_sessions_revoke_all",
            "Sign out everywhere: revoke every credential but the one of this request",
        )
        .ok(200, "", model("RestAuthDetail"))
        .errors(AUTHENTICATED),
        op(
            "delete",
            "/api/auth/sessions/{sid}",
            "auth_destroy_sessions",
            "Revoke one of your credentials",
        )
        .params([sid.clone()])
        .empty(204, "The credential has been revoked")
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "get",
            "/api/users/{id}/sessions",
            "users_list_sessions",
            "A user's sessions, login tokens and access tokens (administrators only)",
        )
        .params([path_id("user")])
        .ok(200, "", list)
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "post",
            "/api/users/{id}/sessions/revoke-all",
            "users_create_sessions_revoke_all",
            "Sign a user out everywhere (administrators only)",
        )
        .params([path_id("user")])
        .ok(200, "", model("RestAuthDetail"))
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "delete",
            "/api/users/{id}/sessions/{sid}",
            "users_destroy_sessions",
            "Revoke one of a user's credentials (administrators only)",
        )
        .params([path_id("user"), sid])
        .empty(204, "The credential has been revoked")
        .errors(AUTHENTICATED)
        .errors(DETAIL),
    ]
}
