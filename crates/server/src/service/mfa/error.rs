//! Why a second-factor operation refused, each with the contract's machine-readable code
//! (spec §4.1); `crate::error` gives them their statuses and bodies.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MfaError {
    /// A password login of an enrolled user without a factor: step two with this ticket.
    #[error("Two-factor authentication is required.")]
    Required { ticket: String, expires_in: i64 },
    /// Basic credentials of an enrolled user without `X-CVAT-OTP`.
    #[error("Two-factor authentication is required; use an access token or send X-CVAT-OTP.")]
    BasicRequired,
    /// Wrong, malformed, replayed or used code (`basic`: answered 401, as Basic refusals are).
    #[error("The two-factor authentication code is invalid or was already used.")]
    CodeInvalid { basic: bool },
    #[error("The two-factor login ticket is invalid, expired or used up. Log in again.")]
    TicketInvalid,
    #[error("Too many wrong two-factor codes. Try again in {retry_after} seconds.")]
    Locked { retry_after: u64 },
    #[error("Two-factor authentication is already enabled.")]
    AlreadyEnabled,
    #[error("Two-factor authentication is not enabled.")]
    NotEnabled,
    #[error("There is no pending two-factor setup (it expired or was never started). Start the setup again.")]
    SetupMissing,
    #[error("The password is incorrect.")]
    PasswordInvalid,
    #[error("Two-factor authentication cannot be managed with an access token; log in with your password.")]
    AccessTokenNotAllowed,
    /// A body the endpoint cannot take (which field is wrong, in English).
    #[error("{0}")]
    InvalidRequest(String),
    /// A user the policy covers is past the enrolment deadline without TOTP.
    #[error("{}", super::policy::ENROLLMENT_REQUIRED)]
    EnrollmentRequired,
    /// A member of an organization that requires the factor, past its deadline, in its context.
    #[error("{}", super::policy::ORGANIZATION_REQUIRES)]
    RequiredByOrganization,
}

impl MfaError {
    /// The contract's `code` value.
    pub fn code(&self) -> &'static str {
        match self {
            MfaError::Required { .. } | MfaError::BasicRequired => "mfa_required",
            MfaError::CodeInvalid { .. } => "mfa_code_invalid",
            MfaError::TicketInvalid => "mfa_token_invalid",
            MfaError::Locked { .. } => "mfa_locked",
            MfaError::AlreadyEnabled => "mfa_already_enabled",
            MfaError::NotEnabled => "mfa_not_enabled",
            MfaError::SetupMissing => "mfa_setup_missing",
            MfaError::PasswordInvalid => "password_invalid",
            MfaError::AccessTokenNotAllowed => "access_token_not_allowed",
            MfaError::InvalidRequest(_) => "invalid_request",
            MfaError::EnrollmentRequired => "mfa_enrollment_required",
            MfaError::RequiredByOrganization => "mfa_required_by_organization",
        }
    }
}
