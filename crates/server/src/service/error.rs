//! Why a domain operation failed, with no notion of HTTP: `crate::error` turns it into CVAT's
//! response shapes, the console into form errors.

use crate::store::{OrgWriteError, WriteError};
use crate::validate::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The object does not exist, or the requester may not know that it does.
    #[error("not found")]
    NotFound,
    /// The requester may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The change would break an invariant of the stored data (the last-admin guard).
    #[error("{0}")]
    Conflict(String),
    /// Field validation, as a serializer reports it: field → messages, in field order
    /// (`non_field_errors` for the whole object).
    #[error("invalid fields: {}", describe(.0))]
    Invalid(FieldErrors),
    /// A valid request that a rule about existing data refuses, without a field to blame
    /// (CVAT raises these as a bare `ValidationError`, answered as a list of messages).
    #[error("{0}")]
    Refused(String),
    /// As `NotFound`, with the message a view states (`No Invitation matches the given query.`).
    #[error("{0}")]
    Missing(&'static str),
    /// A refusal a view answers as a bare JSON string (the newest CVAT's invitation actions).
    #[error("{0}")]
    RefusedText(&'static str),
    /// Too many attempts; retry after that many seconds.
    #[error("{detail}")]
    Throttled { detail: String, retry_after: u64 },
    /// A second-factor refusal, with its contract code (`service::mfa`).
    #[error(transparent)]
    Mfa(#[from] super::mfa::MfaError),
    /// Anything unexpected (a database failure): logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type DomainResult<T> = Result<T, DomainError>;

fn describe(errors: &FieldErrors) -> String {
    errors
        .iter()
        .map(|(k, m)| format!("{k}: {}", m.join(" ")))
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    pub fn field(name: &str, msg: impl Into<String>) -> Self {
        DomainError::Invalid(vec![(name.to_string(), vec![msg.into()])])
    }

    pub fn non_field(msg: impl Into<String>) -> Self {
        Self::field("non_field_errors", msg)
    }

    /// Every message, field names first, as one line (CLI output, console banners).
    pub fn messages(&self) -> String {
        match self {
            DomainError::Invalid(errors) => describe(errors),
            other => other.to_string(),
        }
    }
}

impl From<sqlx::Error> for DomainError {
    fn from(e: sqlx::Error) -> Self {
        DomainError::Internal(e.into())
    }
}

pub const USERNAME_TAKEN: &str = "A user with that username already exists.";
pub const ALREADY_MEMBER: &str = "The user is a member of the organization already.";
pub const SLUG_TAKEN: &str = "organization with this slug already exists.";

impl From<WriteError> for DomainError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::NotFound => DomainError::NotFound,
            WriteError::UsernameTaken => DomainError::field("username", USERNAME_TAKEN),
            WriteError::LastAdmin(msg) => DomainError::Conflict(msg.into()),
            WriteError::Db(e) => e.into(),
        }
    }
}

impl From<OrgWriteError> for DomainError {
    fn from(e: OrgWriteError) -> Self {
        match e {
            OrgWriteError::SlugTaken => DomainError::field("slug", SLUG_TAKEN),
            OrgWriteError::AlreadyMember => DomainError::Refused(ALREADY_MEMBER.into()),
            OrgWriteError::UsernameTaken => DomainError::field(
                "email",
                "A user whose username is this address exists: invite that user's own address.",
            ),
            OrgWriteError::Gone => DomainError::NotFound,
            OrgWriteError::Db(e) => e.into(),
        }
    }
}
