//! The TOTP second factor's bodies (`../shared/spec/sso-and-mfa.md` §4.3–§4.7): login step
//! two, self-management under `/api/auth/mfa`, and an administrator's view of a user.
//! Secrets, codes and tickets are redacted from `Debug`.

use serde::{Deserialize, Serialize};

macro_rules! redacted_debug {
    ($t:ident { $($shown:ident),* } [$($hidden:ident),*]) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($hidden), &"***"))*
                    .finish()
            }
        }
    };
}

/// `POST /api/auth/login/mfa`: the ticket of the 401 and exactly one of `code` and
/// `recovery_code`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(
    example = json!({"mfa_token": "3q2-7w_ticket-from-the-401-answer-43-chars__", "code": "123456"})
))]
pub struct MfaLoginRequest {
    /// The `mfa_token` of the login's 401 `mfa_required` answer.
    pub mfa_token: String,
    /// A current TOTP code (6 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, pattern = r"^\s*(\d\s*){6}$")
    )]
    pub code: Option<String>,
    /// An unused recovery code (`XXXXX-XXXXX`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub recovery_code: Option<String>,
}
redacted_debug!(MfaLoginRequest {} [mfa_token, code, recovery_code]);

/// The answer of a completed login step two: the login's token key (and the session cookies).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaLogin {
    #[cfg_attr(feature = "openapi", schema(max_length = 40))]
    pub key: String,
    /// Recovery codes left, after a recovery code was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub recovery_codes_remaining: Option<i64>,
}
redacted_debug!(
    MfaLogin {
        recovery_codes_remaining
    }[key]
);

/// The 401 `mfa_required` answer of `POST /api/auth/login` for an enrolled user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaRequired {
    pub detail: String,
    /// `mfa_required`.
    pub code: String,
    /// The step-two ticket: single use, bound to the user.
    pub mfa_token: String,
    pub mfa_methods: Vec<String>,
    /// Seconds the ticket stays valid.
    pub expires_in: i64,
}
redacted_debug!(
    MfaRequired {
        detail,
        code,
        mfa_methods,
        expires_in
    }[mfa_token]
);

/// `{"detail", "code"}`: a refusal of the second factor's endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodedError {
    pub detail: String,
    /// Machine-readable: `mfa_code_invalid`, `mfa_token_invalid`, `mfa_locked`, ...
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpStatus {
    pub enabled: bool,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub confirmed_date: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_used_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodesStatus {
    pub total: i64,
    pub remaining: i64,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub generated_date: Option<String>,
}

/// `GET /api/auth/mfa` and `GET /api/users/{id}/mfa` (the latter without `session_mfa`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaStatus {
    pub totp: TotpStatus,
    pub recovery_codes: RecoveryCodesStatus,
    /// Whether a policy requires the factor of this user (`--mfa-enforce`).
    pub required: bool,
    pub required_by: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub enrollment_deadline: Option<String>,
    /// Whether this request's credential passed the second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub session_mfa: Option<bool>,
}

/// `POST /api/auth/mfa/totp/setup`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpSetupRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
}
redacted_debug!(TotpSetupRequest {}[password]);

/// A pending enrolment: what an authenticator app needs. Enabled only by a first valid code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpSetup {
    /// Base32, no padding (32 characters).
    pub secret: String,
    pub otpauth_url: String,
    pub algorithm: String,
    pub digits: i64,
    pub period: i64,
    /// Seconds the setup waits for its confirmation.
    pub expires_in: i64,
    /// The QR code of `otpauth_url`, as an SVG document.
    pub qr_svg: String,
}
redacted_debug!(TotpSetup { algorithm, digits, period, expires_in } [secret, otpauth_url, qr_svg]);

/// `POST /api/auth/mfa/totp/confirm`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpConfirmRequest {
    #[cfg_attr(feature = "openapi", schema(pattern = r"^\s*(\d\s*){6}$"))]
    pub code: String,
}
redacted_debug!(TotpConfirmRequest {}[code]);

/// The enabled factor's recovery codes (shown only here), and a new login token key: enabling
/// signs the user out everywhere else.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpConfirmed {
    pub recovery_codes: Vec<String>,
    pub key: String,
}
redacted_debug!(TotpConfirmed {} [recovery_codes, key]);

/// `POST /api/auth/mfa/totp/disable`: the password and a code or a recovery code.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaDisableRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub recovery_code: Option<String>,
}
redacted_debug!(MfaDisableRequest {} [password, code, recovery_code]);

/// `POST /api/auth/mfa/recovery-codes`: the password and a current code.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodesRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
    pub code: String,
}
redacted_debug!(RecoveryCodesRequest {} [password, code]);

/// A new set of recovery codes (the old set no longer works).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}
redacted_debug!(RecoveryCodes {}[recovery_codes]);

/// `GET`/`PATCH /api/organizations/{id}/mfa-policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationMfaPolicy {
    /// Members must have TOTP (after the grace period) to work in the organization's context.
    pub require_mfa: bool,
    pub grace_period_hours: i64,
    /// Since when the policy requires it.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, required))]
    pub enabled_date: Option<String>,
}

/// The body of `PATCH /api/organizations/{id}/mfa-policy`; fields left out stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatchedOrganizationMfaPolicyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub require_mfa: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, minimum = 0, maximum = 8760)
    )]
    pub grace_period_hours: Option<i64>,
}
