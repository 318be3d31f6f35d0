//! The operations of the TOTP second factor (`http::mfa`), beside `operations.rs` (which
//! would pass 600 lines with them). Paths must match the router's (`tests/api/schema.rs`).

use super::document::{model, op, path_id, Access, Op, AUTHENTICATED, BODY, DETAIL};

/// The TOTP second factor (`http::mfa`; spec sso-and-mfa §4.2). Refusals carry `code`.
pub(super) fn mfa() -> Vec<Op> {
    let user_mfa = "/api/users/{id}/mfa";
    let org_policy = "/api/organizations/{id}/mfa-policy";
    vec![
        op(
            "post",
            "/api/auth/login/mfa",
            "auth_create_login_mfa",
            "Log in, step two: the ticket of the login's 401 mfa_required and a TOTP or recovery code",
        )
        .access(Access::Optional)
        .json_body("MfaLoginRequest", true)
        .ok(200, "", model("MfaLogin"))
        .errors(&[400, 401, 403, 406, 429])
        .errors(BODY),
        op(
            "get",
            "/api/auth/mfa",
            "auth_retrieve_mfa",
            "The current user's second factor",
        )
        .ok(200, "", model("MfaStatus"))
        .errors(AUTHENTICATED),
        op(
            "post",
            "/api/auth/mfa/totp/setup",
            "auth_create_mfa_totp_setup",
            "Start a TOTP enrolment (password required): secret, otpauth URI and QR code",
        )
        .json_body("TotpSetupRequest", true)
        .ok(200, "", model("TotpSetup"))
        .errors(AUTHENTICATED)
        .errors(&[409])
        .errors(BODY),
        op(
            "post",
            "/api/auth/mfa/totp/confirm",
            "auth_create_mfa_totp_confirm",
            "Enable TOTP with a first code: recovery codes (shown once) and a new login key",
        )
        .json_body("TotpConfirmRequest", true)
        .ok(200, "", model("TotpConfirmed"))
        .errors(AUTHENTICATED)
        .errors(&[409])
        .errors(BODY),
        op(
            "post",
            "/api/auth/mfa/totp/disable",
            "auth_create_mfa_totp_disable",
            "Disable TOTP (password and a code or recovery code required)",
        )
        .json_body("MfaDisableRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(AUTHENTICATED)
        .errors(&[409])
        .errors(BODY),
        op(
            "post",
            "/api/auth/mfa/recovery-codes",
            "auth_create_mfa_recovery_codes",
            "Replace the recovery codes (password and a code required)",
        )
        .json_body("RecoveryCodesRequest", true)
        .ok(200, "", model("RecoveryCodes"))
        .errors(AUTHENTICATED)
        .errors(&[409])
        .errors(BODY),
        op(
            "get",
            user_mfa,
            "users_retrieve_mfa",
            "A user's second factor (the user or an administrator)",
        )
        .params([path_id("user")])
        .ok(200, "", model("MfaStatus"))
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "delete",
            user_mfa,
            "users_destroy_mfa",
            "Reset a user's second factor (administrators); signs the user out and mails them",
        )
        .params([path_id("user")])
        .empty(204, "The second factor has been reset")
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(&[409]),
        op(
            "get",
            org_policy,
            "organizations_retrieve_mfa_policy",
            "Whether the organization requires TOTP of its members (members and administrators)",
        )
        .params([path_id("organization")])
        .ok(200, "", model("OrganizationMfaPolicy"))
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "patch",
            org_policy,
            "organizations_partial_update_mfa_policy",
            "Require TOTP of the members, with a grace period (the owner or an administrator)",
        )
        .params([path_id("organization")])
        .json_body("PatchedOrganizationMfaPolicyRequest", false)
        .ok(200, "", model("OrganizationMfaPolicy"))
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(BODY),
    ]
}
