//! A user's credentials in one list (sessions, login tokens, access tokens: when and where
//! each was made), revoking one, and signing out everywhere (issue 15). Users manage their
//! own; administrators anybody's.
//!
//! Ids are `<kind>:<key>`: `session:` and `token:` with the first 16 hex characters of the
//! credential's digest (the secret itself is never stored), `access_token:` with its id.
//! `last_used_date` is known for access tokens only: sessions and login tokens are not written
//! to when used (decision 4: token requests never write).

use super::audit::{actions, AuditEvent};
use super::{DomainError, DomainResult, Requester};
use crate::auth::AuthMethod;
use crate::state::AppState;
use crate::store::{self, CredentialRow, KeptCredential, UserRecord};

/// One credential as shown.
#[derive(Debug, Clone)]
pub struct Credential {
    pub row: CredentialRow,
    /// The credential of the request that asks.
    pub current: bool,
}

impl Credential {
    pub fn id(&self) -> String {
        format!("{}:{}", self.row.kind, self.row.key)
    }
}

/// Whose credentials `req` may see and revoke: its own, or anybody's with the admin privilege.
fn ensure_allowed(req: &Requester, target: &UserRecord) -> DomainResult<()> {
    match req.id() == target.id || req.is_admin() {
        true => Ok(()),
        false => Err(DomainError::Forbidden),
    }
}

/// `(kind, key)` of the requester's own credential, when it is one of the listed kinds.
fn current_of(req: &Requester) -> Option<(&'static str, String)> {
    let prefix = |digest: &str| digest.chars().take(16).collect::<String>();
    match &req.method {
        AuthMethod::Session { key } => Some((store::SESSION, prefix(&store::digest(key)))),
        AuthMethod::Token { digest } => Some((store::TOKEN, prefix(digest))),
        AuthMethod::Bearer { token_id, .. } => Some((store::ACCESS_TOKEN, token_id.to_string())),
        AuthMethod::Basic | AuthMethod::Signature => None,
    }
}

pub async fn list(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
) -> DomainResult<Vec<Credential>> {
    ensure_allowed(req, target)?;
    let current = current_of(req).filter(|_| req.id() == target.id);
    let rows = state.db.list_credentials(target.id).await?;
    Ok(rows
        .into_iter()
        .map(|row| Credential {
            current: current
                .as_ref()
                .is_some_and(|(kind, key)| row.kind == *kind && row.key == *key),
            row,
        })
        .collect())
}

/// `(kind, key)` of a well-formed id, else `None` (answered as not found).
fn parse_id(id: &str) -> Option<(&'static str, &str)> {
    let (kind, key) = id.split_once(':')?;
    let hex16 = key.len() == 16 && key.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = !key.is_empty() && key.len() <= 19 && key.bytes().all(|b| b.is_ascii_digit());
    match kind {
        store::SESSION if hex16 => Some((store::SESSION, key)),
        store::TOKEN if hex16 => Some((store::TOKEN, key)),
        store::ACCESS_TOKEN if digits => Some((store::ACCESS_TOKEN, key)),
        _ => None,
    }
}

/// Revokes one credential of `target`; not found when it has no such one.
pub async fn revoke(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
    id: &str,
) -> DomainResult<()> {
    ensure_allowed(req, target)?;
    let (kind, key) = parse_id(id).ok_or(DomainError::NotFound)?;
    let ev = AuditEvent::by(req, actions::REVOKE_CREDENTIAL)
        .on_user(target)
        .detail("kind", kind);
    if !state
        .db
        .revoke_credential(target.id, kind, key, &ev)
        .await?
    {
        return Err(DomainError::NotFound);
    }
    tracing::info!(
        user_id = target.id,
        by = req.id(),
        kind,
        "credential revoked"
    );
    Ok(())
}

/// Signs `target` out everywhere: every credential goes, except the requester's own when it
/// is one of them. Answers how many went.
pub async fn revoke_all(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
) -> DomainResult<u64> {
    ensure_allowed(req, target)?;
    let kept = match (&req.method, req.id() == target.id) {
        (AuthMethod::Session { key }, true) => KeptCredential::Session(key),
        (AuthMethod::Token { digest }, true) => KeptCredential::TokenDigest(digest),
        (AuthMethod::Bearer { token_id, .. }, true) => KeptCredential::AccessToken(*token_id),
        _ => KeptCredential::Nothing,
    };
    let ev = AuditEvent::by(req, actions::REVOKE_CREDENTIALS).on_user(target);
    let gone = state
        .db
        .revoke_credentials_except(target.id, kept, &ev)
        .await?;
    tracing::info!(
        user_id = target.id,
        by = req.id(),
        gone,
        "signed out everywhere"
    );
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn ids_name_a_kind_and_a_key_of_its_shape() {
        assert_eq!(
            parse_id("session:0123456789abcdef"),
            Some(("session", "0123456789abcdef"))
        );
        assert_eq!(parse_id("access_token:42"), Some(("access_token", "42")));
        for bad in [
            "session:0123",
            "token:0123456789abcdeg",
            "access_token:4%",
            "access_token:",
            "cookie:0123456789abcdef",
            "0123456789abcdef",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
