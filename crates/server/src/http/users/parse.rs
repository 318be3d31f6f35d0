//! CVAT's `/api/users` bodies and query filters → typed commands, with DRF's exact messages
//! and field order. The console's forms go through the same parsers.

use serde_json::{json, Map, Value};

use crate::auth::password_rules;
use crate::error::{ApiError, ApiResult};
use crate::filters::{self, Bind, Field};
use crate::service::{
    CreateUser, DomainError, DomainResult, SetPassword, UserPatch, USERNAME_TAKEN,
};
use crate::state::AppState;
use crate::store::{UserQuery, UserRecord};
use crate::validate::{self, py_set_repr, FieldErrors};

/// `search`, `filter`, `username`, `first_name`, `last_name` and `is_active` from query pairs
/// (the last value of a repeated key wins, as in Django).
pub fn apply_query_pairs(pairs: &[(String, String)], q: &mut UserQuery) -> ApiResult<()> {
    let last = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    q.search = filters::parse_search(last("search")).map_err(|e| ApiError::List(vec![e.0]))?;
    q.rule = filters::parse_filter(last("filter").unwrap_or(""))
        .map_err(|e| ApiError::List(vec![e.0]))?;
    for (name, field) in [
        ("username", Field::Username),
        ("first_name", Field::FirstName),
        ("last_name", Field::LastName),
    ] {
        // An empty value means "no filter", as django-filter has it.
        if let Some(v) = last(name).filter(|v| !v.is_empty()) {
            q.exact.push((field, Bind::Text(v.to_string())));
        }
    }
    if let Some(v) = last("is_active").filter(|v| !v.is_empty()) {
        let b = validate::parse_bool(&json!(v))
            .ok_or_else(|| ApiError::field("is_active", "Must be a valid boolean."))?;
        q.exact.push((Field::IsActive, Bind::Bool(b)));
    }
    Ok(())
}

/// A failure of the uniqueness lookups that validation makes.
fn internal(e: ApiError) -> DomainError {
    DomainError::Internal(e.into())
}

/// The password of a new account or a password reset: DRF's `CharField` (≤128), then Django's
/// validators, the similarity one against `attrs`. Messages under the `password` field.
fn checked_password(
    value: Option<&Value>,
    attrs: &password_rules::UserAttributes,
) -> Result<String, Vec<String>> {
    let Some(v) = value else {
        return Err(vec!["This field is required.".into()]);
    };
    // As registration and password change read it: DRF's `CharField`, which trims.
    let p = validate::char_field(v, false, 128)?;
    let problems = password_rules::validate_password(&p, Some(attrs));
    if problems.is_empty() {
        Ok(p)
    } else {
        Err(problems)
    }
}

/// A `POST /api/users` body: `username`, `email` (optional) and `password` validated as
/// registration validates them (5–150 characters, unique case-insensitively; Django's password
/// validators), optional `first_name`, `last_name`, `groups`, `is_staff`, `is_superuser`,
/// `is_active` (default true), `must_change_password` (default false). Unknown keys are
/// ignored, as the full serializer ignores them.
pub async fn create_user(state: &AppState, body: &Map<String, Value>) -> DomainResult<CreateUser> {
    let mut errors: FieldErrors = Vec::new();
    let mut note = |k: &str, r: Result<(), Vec<String>>| {
        if let Err(m) = r {
            errors.push((k.to_string(), m));
        }
    };
    let mut username = String::new();
    match body.get("username") {
        None => note("username", Err(vec!["This field is required.".to_string()])),
        Some(v) => note(
            "username",
            crate::http::auth::new_username(state, v)
                .await
                .map_err(internal)?
                .map(|u| username = u),
        ),
    }
    let mut email = String::new();
    if let Some(v) = body.get("email") {
        note(
            "email",
            crate::http::auth::new_email(state, v, false)
                .await
                .map_err(internal)?
                .map(|e| email = e),
        );
    }
    let (mut first_name, mut last_name) = (String::new(), String::new());
    for (key, slot) in [
        ("first_name", &mut first_name),
        ("last_name", &mut last_name),
    ] {
        if let Some(v) = body.get(key) {
            note(
                key,
                validate::char_field(v, true, validate::NAME_MAX).map(|s| *slot = s),
            );
        }
    }
    let attrs = password_rules::UserAttributes {
        username: &username,
        first_name: &first_name,
        last_name: &last_name,
        email: &email,
    };
    let password = checked_password(body.get("password"), &attrs);
    let mut groups = None;
    if let Some(v) = body.get("groups") {
        let known = state.db.group_names().await?;
        note(
            "groups",
            validate::groups_field(v, &known).map(|g| groups = Some(g)),
        );
    }
    let mut flags = [false, false, true, false];
    let keys = [
        "is_staff",
        "is_superuser",
        "is_active",
        "must_change_password",
    ];
    for (i, key) in keys.iter().enumerate() {
        if let Some(v) = body.get(*key) {
            note(key, validate::bool_field(v).map(|b| flags[i] = b));
        }
    }
    let [is_staff, is_superuser, is_active, must_change_password] = flags;
    // Serializer field order: the password comes right after the e-mail.
    let password = match password {
        Ok(p) => Some(p),
        Err(m) => {
            let at = errors
                .iter()
                .position(|(k, _)| !["username", "email"].contains(&k.as_str()))
                .unwrap_or(errors.len());
            errors.insert(at, ("password".into(), m));
            None
        }
    };
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        return Err(DomainError::Invalid(errors));
    };
    Ok(CreateUser {
        username,
        email,
        password,
        first_name,
        last_name,
        groups,
        is_staff,
        is_superuser,
        is_active,
        must_change_password,
        external_id: None,
    })
}

/// A PATCH body read with the serializer the requester gets (`full` for staff, spec §5.3):
/// field errors (a username another user has first), then the basic serializer's refusal of
/// any other field.
pub async fn user_patch(
    state: &AppState,
    full: bool,
    target: &UserRecord,
    body: &Map<String, Value>,
) -> DomainResult<UserPatch> {
    let known_groups = if body.contains_key("groups") {
        state.db.group_names().await?
    } else {
        Vec::new()
    };
    let (patch, mut errors) = validate::user_patch(body, full, &known_groups);
    if let Some(name) = &patch.username {
        if *name != target.username && state.db.username_taken_exact(name, target.id).await? {
            errors.insert(0, ("username".into(), vec![USERNAME_TAKEN.into()]));
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    if !full {
        let unknown: Vec<String> = body
            .keys()
            .filter(|k| !["url", "id", "username", "first_name", "last_name"].contains(&k.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let privileged = unknown
                .iter()
                .any(|k| ["is_staff", "is_superuser", "groups"].contains(&k.as_str()));
            return Err(DomainError::non_field(if privileged {
                format!(
                    "You do not have permissions to access some of these fields: {}",
                    py_set_repr(&unknown)
                )
            } else {
                format!("Got unknown fields: {}", py_set_repr(&unknown))
            }));
        }
    }
    Ok(patch)
}

/// `{"password": ..., "must_change_password": false}` for `target`: Django's validators,
/// similarity to the target's own attributes.
pub fn set_password(target: &UserRecord, body: &Map<String, Value>) -> DomainResult<SetPassword> {
    let attrs = password_rules::UserAttributes {
        username: &target.username,
        first_name: &target.first_name,
        last_name: &target.last_name,
        email: &target.email,
    };
    let must_change = match body.get("must_change_password") {
        None => Ok(false),
        Some(v) => validate::bool_field(v),
    };
    match (checked_password(body.get("password"), &attrs), must_change) {
        (Ok(password), Ok(must_change)) => Ok(SetPassword {
            password,
            must_change,
        }),
        (password, must_change) => {
            let mut errors = Vec::new();
            if let Err(m) = password {
                errors.push(("password".into(), m));
            }
            if let Err(m) = must_change {
                errors.push(("must_change_password".into(), m));
            }
            Err(DomainError::Invalid(errors))
        }
    }
}
