//! The operations of OpenID Connect sign-in and linked identities (`http::oidc`; spec
//! sso-and-mfa §4.9). Paths must match the router's (`tests/api/schema.rs`).

use serde_json::json;

use super::document::{op, Access, Op, AUTHENTICATED, DETAIL};

fn provider_param() -> serde_json::Value {
    json!({"name": "provider", "in": "path", "required": true, "schema": {"type": "string"},
           "description": "The provider's id (the `[oidc.providers.<id>]` table)."})
}

fn query(name: &str, description: &str) -> serde_json::Value {
    json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"},
           "description": description})
}

fn redirect(description: &str) -> serde_json::Value {
    json!({"description": description,
           "headers": {"Location": {"schema": {"type": "string"}}}})
}

fn coded(description: &str) -> serde_json::Value {
    json!({"description": description, "content": {"application/vnd.cvat+json": {"schema": {
        "type": "object", "properties": {"detail": {"type": "string"}, "code": {"type": "string"}}}}}})
}

pub(super) fn oidc() -> Vec<Op> {
    let identity = json!({"type": "object", "properties": {
        "provider": {"type": "string"}, "subject": {"type": "string"},
        "email": {"type": "string", "nullable": true}, "email_verified": {"type": "boolean"},
        "created_date": {"type": "string", "format": "date-time"},
        "last_login_date": {"type": "string", "format": "date-time", "nullable": true}}});
    vec![
        op(
            "get",
            "/api/auth/oidc/{provider}/login",
            "auth_retrieve_oidc_login",
            "Start signing in with an OpenID Connect provider: 302 to it (code flow, PKCE S256, state, nonce)",
        )
        .access(Access::Anonymous)
        .params([
            provider_param(),
            query("next", "A path on this site to return to (default: oidc_login_redirect)"),
            query("login_hint", "Passed on to the provider"),
            query("process", "`login` (the only one supported)"),
        ])
        .answer(302, redirect("To the provider's authorization endpoint; sets cvat_oidc_flow"))
        .answer(400, coded("invalid_next or invalid_request"))
        .answer(404, coded("provider_not_found"))
        .answer(502, coded("idp_unavailable")),
        op(
            "get",
            "/api/auth/oidc/{provider}/login/callback",
            "auth_retrieve_oidc_login_callback",
            "The provider's redirect back: 302 to `next` with the session and CSRF cookies, or to oidc_error_redirect?error=<code>",
        )
        .access(Access::Anonymous)
        .params([
            provider_param(),
            query("code", "The provider's authorization code"),
            query("state", "The flow's state"),
            query("iss", "The issuer (RFC 9207)"),
            query("error", "The provider's refusal"),
        ])
        .answer(302, redirect("Signed in, or refused with ?error=<code>"))
        .answer(400, coded("invalid_state"))
        .answer(404, coded("provider_not_found"))
        .errors(&[429]),
        op(
            "get",
            "/api/auth/identities",
            "auth_list_identities",
            "The current user's linked OpenID Connect identities",
        )
        .ok(200, "", json!({"type": "array", "items": identity}))
        .errors(AUTHENTICATED),
        op(
            "delete",
            "/api/auth/identities/{provider}",
            "auth_destroy_identities",
            "Unlink one of the current user's identities (409 last_login_method if it is the only way in)",
        )
        .params([provider_param()])
        .empty(204, "Unlinked")
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(&[409]),
    ]
}
