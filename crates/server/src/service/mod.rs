//! The domain layer: every operation on users, organizations, memberships and invitations,
//! whoever asks (the REST handlers, the console at `/admin/`, the `createsuperuser` command).
//!
//! Operations take a `Requester` (who asks, with privilege and organization context) and typed
//! commands that the edge already parsed from CVAT's bodies; they decide who may do what
//! (`permissions`, `org_rules`: plain functions, no I/O), call the store and answer records or
//! a `DomainError`, which knows nothing of HTTP (`crate::error` maps it to CVAT's shapes in
//! one place, the console to form errors).

pub mod access;
pub mod audit;
mod error;
pub mod invitations;
pub mod ldap;
pub mod mfa;
pub mod oidc;
pub mod org_rules;
pub mod orgs;
pub mod password_reset;
pub mod permissions;
pub mod registration;
pub mod scim;
pub mod sessions;
mod types;
pub mod users;
pub mod verification;

pub use audit::AuditEvent;
pub use error::{DomainError, DomainResult, ALREADY_MEMBER, SLUG_TAKEN, USERNAME_TAKEN};
pub use invitations::InviteMember;
pub use orgs::MembershipAccess;
pub use permissions::{OrgContext, Requester};
pub use types::{OrgId, OrgRole, SystemRole, UserId};
pub use users::{CreateUser, SetPassword, UserAccess, UserPatch};
