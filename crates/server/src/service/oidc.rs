//! Which account an OpenID Connect sign-in opens (spec §2.4, §2.5, §4.9), and the identities
//! a user sees and unlinks.
//!
//! The only key of a person is (provider, `sub`); e-mail and usernames may change at the
//! provider. A subject seen before opens its account. A new one is linked to an existing
//! account only when the provider vouches for the e-mail (`email_verified` is JSON `true`, or
//! the provider is trusted for e-mail), exactly one account has that address, and it is not
//! privileged: otherwise anyone who can make an account at the provider with your address
//! would take yours (CVAT 2.3's flaw, §1.1). With no account of that address one is created,
//! when the provider allows it, with an unusable password and `auth_source = 'oidc'`. The
//! group mapping is applied at every sign-in, so a change in the directory takes effect at
//! the next one.

use super::audit::{actions, AuditEvent, Origin};
use serde_json::{Map, Value};

use crate::auth::oidc::settings::ROLES;
use crate::auth::oidc::{Provider, Verified};
use crate::service::{DomainError, UserId, UserPatch};
use crate::state::AppState;
use crate::store::{IdentityRow, NewIdentity, NewUser, UserRecord, WriteError};
use crate::validate;

/// Why a sign-in was refused: the `error` value the browser is sent back with (spec §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    EmailNotVerified,
    AccountConflict,
    AccountNotFound,
    AccountDisabled,
    EmailDomainNotAllowed,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::EmailNotVerified => "email_not_verified",
            Refusal::AccountConflict => "account_conflict",
            Refusal::AccountNotFound => "account_not_found",
            Refusal::AccountDisabled => "account_disabled",
            Refusal::EmailDomainNotAllowed => "email_domain_not_allowed",
        }
    }
}

/// A sign-in's outcome: the account, or a refusal; `Err` only for storage failures.
pub type SignIn = Result<Result<UserRecord, Refusal>, DomainError>;

fn text_claim(c: &Map<String, Value>, name: &str) -> Option<String> {
    c.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The person as the claims describe them.
struct Person {
    email: Option<String>,
    email_verified: bool,
    first_name: String,
    last_name: String,
    username_base: String,
    groups: Vec<String>,
}

fn person(p: &Provider, v: &Verified) -> Person {
    let c = &v.claims;
    let email =
        text_claim(c, &p.email_claim).filter(|e| e.len() <= 254 && validate::is_valid_email(e));
    // Only the JSON value `true` counts (a string "true" does not, spec §2.5).
    let email_verified =
        email.is_some() && (p.trust_email || c.get("email_verified") == Some(&Value::Bool(true)));
    let raw = text_claim(c, &p.username_claim)
        .or_else(|| {
            email
                .as_deref()
                .and_then(|e| e.split('@').next())
                .map(str::to_string)
        })
        .unwrap_or_else(|| v.subject.clone());
    let username_base: String = raw
        .chars()
        .map(|ch| {
            if ch.is_alphanumeric() || "_.@+-".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .take(validate::NAME_MAX)
        .collect();
    let mut groups = Vec::new();
    if let Some(a) = &p.authorization {
        for claim in &a.groups_claims {
            match c.get(claim) {
                Some(Value::String(s)) => groups.push(s.clone()),
                Some(Value::Array(items)) => {
                    groups.extend(items.iter().filter_map(Value::as_str).map(str::to_string))
                }
                _ => {}
            }
        }
    }
    Person {
        email,
        email_verified,
        first_name: cut(&text_claim(c, &p.first_name_claim).unwrap_or_default(), 150),
        last_name: cut(&text_claim(c, &p.last_name_claim).unwrap_or_default(), 150),
        username_base,
        groups,
    }
}

/// The CVAT group the provider's groups map to (highest wins), when a mapping is configured.
fn mapped_role(p: &Provider, groups: &[String]) -> Option<String> {
    let a = p.authorization.as_ref()?;
    let has = |g: &str| {
        groups.iter().any(|mine| {
            if a.case_sensitive {
                mine == g
            } else {
                mine.to_lowercase() == g.to_lowercase()
            }
        })
    };
    let matched: Vec<&str> = a
        .mapping
        .iter()
        .filter(|(gs, _)| gs.iter().any(|g| has(g)))
        .map(|(_, role)| role.as_str())
        .collect();
    let role = ROLES
        .iter()
        .find(|r| matched.contains(r))
        .map(|r| r.to_string())
        .unwrap_or_else(|| a.default_role.clone());
    Some(role)
}

fn privileged(u: &UserRecord) -> bool {
    u.is_staff || u.is_superuser || u.has_group("admin")
}

/// Applies the mapped role: the one system group, and staff/superuser with `admin` only.
async fn sync_role(
    state: &AppState,
    p: &Provider,
    user: UserRecord,
    groups: &[String],
) -> Result<UserRecord, DomainError> {
    let Some(role) = mapped_role(p, groups) else {
        return Ok(user);
    };
    let admin = role == "admin";
    let system: Vec<&String> = user
        .groups
        .iter()
        .filter(|g| ROLES.contains(&g.as_str()))
        .collect();
    if system.len() == 1
        && *system[0] == role
        && user.is_staff == admin
        && user.is_superuser == admin
    {
        return Ok(user);
    }
    let mut groups: Vec<String> = user
        .groups
        .iter()
        .filter(|g| !ROLES.contains(&g.as_str()))
        .cloned()
        .collect();
    groups.push(role.clone());
    let patch = UserPatch {
        groups: Some(groups),
        is_staff: Some(admin),
        is_superuser: Some(admin),
        ..UserPatch::default()
    };
    // Recorded as the provider's change, made at the user's own sign-in.
    let ev = AuditEvent::new(actions::UPDATE_USER, &Origin::default())
        .actor(&user, "oidc")
        .on_user(&user)
        .change(
            "groups",
            user.groups.clone(),
            patch.groups.clone().unwrap_or_default(),
        )
        .detail("provider", p.id.as_str());
    match state.db.update_user(UserId(user.id), &patch, &ev).await {
        Ok(u) => {
            tracing::info!(user_id = u.id, provider = %p.id, role = %role, "sso: groups synced from the provider");
            Ok(u)
        }
        Err(WriteError::LastAdmin(_)) => {
            tracing::warn!(user_id = user.id, provider = %p.id, "sso: the last active admin keeps the admin group");
            Ok(user)
        }
        Err(e) => Err(e.into()),
    }
}

/// Django's unusable password (`!` and 40 random characters): it never verifies.
fn unusable_password() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!(
        "!{}",
        Alphanumeric.sample_string(&mut rand::rngs::OsRng, 40)
    )
}

fn disabled(u: &UserRecord) -> bool {
    !u.is_active || crate::service::access::is_blocked(u)
}

/// Resolves (and if needed creates or links) the account a verified sign-in opens.
pub async fn sign_in(state: &AppState, p: &Provider, v: &Verified) -> SignIn {
    let who = person(p, v);
    let identity = NewIdentity {
        provider: &p.id,
        subject: &v.subject,
        email: who.email.as_deref(),
        email_verified: who.email_verified,
    };
    if let Some(linked) = state.db.identity_by_subject(&p.id, &v.subject).await? {
        let Some(user) = state.db.user_by_id(linked.user_id).await? else {
            return Ok(Err(Refusal::AccountNotFound));
        };
        if disabled(&user) {
            return Ok(Err(Refusal::AccountDisabled));
        }
        state.db.touch_identity(&identity).await?;
        return Ok(Ok(sync_role(state, p, user, &who.groups).await?));
    }
    if !p.allowed_email_domains.is_empty() {
        let domain = who
            .email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase());
        let allowed =
            who.email_verified && domain.is_some_and(|d| p.allowed_email_domains.contains(&d));
        if !allowed {
            return Ok(Err(Refusal::EmailDomainNotAllowed));
        }
    }
    let same_email = match &who.email {
        Some(e) => state.db.users_by_email(e).await?,
        None => Vec::new(),
    };
    if !same_email.is_empty() {
        if !who.email_verified {
            return Ok(Err(Refusal::EmailNotVerified));
        }
        let [user] = same_email.as_slice() else {
            return Ok(Err(Refusal::AccountConflict));
        };
        if !p.link_verified_email || (privileged(user) && !p.link_privileged) {
            return Ok(Err(Refusal::AccountConflict));
        }
        if disabled(user) {
            return Ok(Err(Refusal::AccountDisabled));
        }
        match state.db.link_identity(user.id, &identity).await {
            Ok(()) => {}
            // This provider is linked to that account already, with another subject.
            Err(WriteError::UsernameTaken) => return Ok(Err(Refusal::AccountConflict)),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = user.id, provider = %p.id, "sso: identity linked by verified e-mail");
        return Ok(Ok(sync_role(state, p, user.clone(), &who.groups).await?));
    }
    if !p.auto_provision {
        return Ok(Err(Refusal::AccountNotFound));
    }
    create(state, p, &who, &identity).await
}

async fn create(
    state: &AppState,
    p: &Provider,
    who: &Person,
    identity: &NewIdentity<'_>,
) -> SignIn {
    let role = mapped_role(p, &who.groups).unwrap_or_else(|| "user".to_string());
    let admin = role == "admin";
    for n in 1..=50u32 {
        let username = if n == 1 {
            who.username_base.clone()
        } else {
            let suffix = format!("-{n}");
            let keep = validate::NAME_MAX - suffix.len();
            format!("{}{suffix}", cut(&who.username_base, keep))
        };
        let new = NewUser {
            username,
            password_hash: unusable_password(),
            email: if who.email_verified {
                who.email.clone().unwrap_or_default()
            } else {
                String::new()
            },
            first_name: who.first_name.clone(),
            last_name: who.last_name.clone(),
            is_staff: admin,
            is_superuser: admin,
            groups: vec![role.clone()],
            logged_in: true,
            is_active: true,
            created_via: Some("sso"),
            email_verified: who.email_verified.then_some(true),
            must_change_password: false,
            external_id: None,
        };
        let ev = AuditEvent::new(actions::CREATE_USER, &Origin::default())
            .actor_method("oidc")
            .detail("provider", p.id.as_str())
            .detail("groups", new.groups.clone());
        match state.db.create_sso_user(&new, identity, &ev).await {
            Ok(user) => {
                tracing::info!(user_id = user.id, provider = %p.id, "sso: account created at first sign-in");
                return Ok(Ok(user));
            }
            Err(WriteError::UsernameTaken) => {
                // Linked meanwhile by a racing first sign-in: that account it is.
                if let Some(l) = state
                    .db
                    .identity_by_subject(identity.provider, identity.subject)
                    .await?
                {
                    return match state.db.user_by_id(l.user_id).await? {
                        Some(u) if !disabled(&u) => Ok(Ok(u)),
                        _ => Ok(Err(Refusal::AccountDisabled)),
                    };
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Err(Refusal::AccountConflict))
}

/// The user's linked identities.
pub async fn identities(state: &AppState, user: UserId) -> Result<Vec<IdentityRow>, DomainError> {
    Ok(state.db.identities_of(user.0).await?)
}

/// Unlinks the user's identity at `provider`: `NotFound` when it is not linked, `Conflict`
/// when it is the account's last way to sign in.
pub async fn unlink(state: &AppState, user: UserId, provider: &str) -> Result<(), DomainError> {
    match state.db.unlink_identity(user.0, provider).await? {
        None => Err(DomainError::NotFound),
        Some(false) => Err(DomainError::Conflict(LAST_LOGIN_METHOD.to_string())),
        Some(true) => {
            tracing::info!(user_id = user.0, provider, "sso: identity unlinked");
            Ok(())
        }
    }
}

/// The 409 of an unlink that would leave no way in (`last_login_method`).
pub const LAST_LOGIN_METHOD: &str =
    "This is the account's only way to sign in: set a password or link another provider first.";
