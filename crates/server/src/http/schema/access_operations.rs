//! The operations of blocked accounts and login locks (`http::users::access`), beside
//! `operations.rs`. Paths must match the router's (`tests/api/schema.rs`).

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
