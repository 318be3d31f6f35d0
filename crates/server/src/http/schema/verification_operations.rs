//! The operations of e-mail verification (`http::verification`) and CVAT 2.3.0's login-method
//! discovery, beside `operations.rs`. Paths must match the router's (`tests/api/schema.rs`).

use serde_json::json;

use super::document::{model, op, Access, Op, BODY};

/// The confirmation link, its re-send, and `/api/server/advanced-auth`.
pub(super) fn verification() -> Vec<Op> {
    let key = json!({
        "in": "path", "name": "key", "required": true,
        "schema": {"type": "string", "pattern": "^[-:\\w]+$"},
        "description": "The key of a confirmation mail's link"
    });
    let redirect = |to: &str| {
        json!({
            "description": format!("Redirect to the UI page `{to}`"),
            "headers": {"Location": {"required": true, "schema": {"type": "string"}}}
        })
    };
    let not_found = json!({
        "description": "Verification is off (`--email-verification none`), or (POST, an HTML page) a bad, used or expired key",
        "content": {
            "application/vnd.cvat+json": {"schema": model("ErrorDetail")},
            "text/html": {"schema": {"type": "string"}}
        }
    });
    let path = "/api/auth/account-confirm-email/{key}/";
    vec![
        op(
            "get",
            path,
            "auth_retrieve_account_confirm_email",
            "Open a confirmation link: 302 to /auth/email-confirmation, or to /auth/incorrect-email-confirmation for a bad, used or expired key",
        )
        .access(Access::Anonymous)
        .params([key.clone()])
        .answer(302, redirect("/auth/email-confirmation or /auth/incorrect-email-confirmation"))
        .answer(404, not_found.clone()),
        op(
            "post",
            path,
            "auth_create_account_confirm_email",
            "Confirm an address with a link's key (a form post: X-CSRFToken must match the csrftoken cookie)",
        )
        .access(Access::Anonymous)
        .params([key])
        .answer(302, redirect("/auth/email-confirmation"))
        .answer(404, not_found)
        .errors(&[403]),
        op(
            "post",
            "/api/auth/resend-email",
            "auth_create_resend_email",
            "Mail a new confirmation link to a pending account (the same answer whether or not there is one)",
        )
        .access(Access::Optional)
        .json_body("ResendEmailVerificationRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(&[400, 401, 403, 406])
        .errors(BODY),
        op(
            "get",
            "/api/server/advanced-auth",
            "server_retrieve_advanced_auth",
            "CVAT 2.3.0: which social logins are enabled (none here)",
        )
        .access(Access::Optional)
        .ok(200, "", model("AdvancedAuthentication"))
        .errors(&[401, 403, 406]),
    ]
}
