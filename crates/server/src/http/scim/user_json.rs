//! A user as a SCIM User resource, and a User resource (POST, PUT, a PATCHed copy) read back
//! into what our users have. The mapping (README, "SCIM provisioning"):
//!
//! | SCIM | ours |
//! |---|---|
//! | `id` | `users.id`, as a string |
//! | `userName` | `username` (unique ignoring case on creation) |
//! | `name.givenName`, `name.familyName` | `first_name`, `last_name` |
//! | `emails` (the primary one, else the first) | `email` (`type` is always `work`) |
//! | `active` | `is_active` |
//! | `externalId` | `external_id` (the client's id; not unique) |
//! | `password` (write only) | the password, checked by the password rules |
//! | `groups` (read only) | the organizations the user is an active member of |
//! | `urn:cvat:...:User` `privilege` | CVAT's privilege: the highest system group (`admin`, `business`, `user`, `worker`); set, the user's groups become that one; absent, none |
//! | `meta` | `created` = date joined, `lastModified`, `location`, `version` (an ETag of the rest) |
//!
//! Attribute names ignore case (RFC 7643 §2.1). Core User attributes we do not keep (phone
//! numbers, addresses, titles: what identity providers send besides) are accepted and dropped;
//! names in no schema we serve are refused (`invalidSyntax`), as are schemas we do not serve.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{ScimError, ScimResult, CVAT_USER_SCHEMA, USER_SCHEMA};
use crate::http::views;
use crate::service::SystemRole;
use crate::store::{ScimUserMeta, UserRecord};

/// Entra ID's enterprise extension: accepted (and its attributes dropped).
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// RFC 7643 §4.1's User attributes we accept without keeping them.
const DROPPED: [&str; 15] = [
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
];

/// The User resource of `u`; `orgs` are its active organizations `(id, slug)`.
pub fn user_json(u: &UserRecord, meta: &ScimUserMeta, orgs: &[(i64, String)], base: &str) -> Value {
    let mut out = json!({
        "schemas": [USER_SCHEMA, CVAT_USER_SCHEMA],
        "id": u.id.to_string(),
        "userName": u.username,
        "active": u.is_active,
    });
    // Empty values are absent values (RFC 7643 §2.5).
    let mut name = Map::new();
    for (key, value) in [("givenName", &u.first_name), ("familyName", &u.last_name)] {
        if !value.is_empty() {
            name.insert(key.into(), value.clone().into());
        }
    }
    if !name.is_empty() {
        out["name"] = Value::Object(name);
    }
    if let Some(external) = &meta.external_id {
        out["externalId"] = external.clone().into();
    }
    if !u.email.is_empty() {
        out["emails"] = json!([{"value": u.email, "type": "work"}]);
    }
    if !orgs.is_empty() {
        out["groups"] = orgs
            .iter()
            .map(|(id, slug)| json!({"value": id.to_string(), "display": slug, "type": "direct"}))
            .collect();
    }
    if let Some(privilege) = SystemRole::privilege_of(&u.groups) {
        out[CVAT_USER_SCHEMA] = json!({ "privilege": privilege.as_str() });
    }
    let version = version_of(&out);
    let modified = meta.modified_date.unwrap_or(u.date_joined);
    out["meta"] = json!({
        "resourceType": "User",
        "created": views::datetime(u.date_joined),
        "lastModified": views::datetime(modified),
        "location": format!("{base}/Users/{}", u.id),
        "version": version,
    });
    out
}

/// A weak ETag of a resource's attributes (not of `meta`): changes whenever any of them does.
pub fn version_of(resource: &Value) -> String {
    let mut copy = resource.clone();
    if let Some(o) = copy.as_object_mut() {
        o.remove("meta");
    }
    let digest = Sha256::digest(copy.to_string().as_bytes());
    format!("W/\"{}\"", hex::encode(&digest[..12]))
}

/// What a User resource sets.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    pub user_name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub active: Option<bool>,
    pub external_id: Option<String>,
    pub password: Option<String>,
    /// `None`: unchanged; `Some(None)`: no system group; `Some(Some(p))`: exactly group `p`.
    pub privilege: Option<Option<String>>,
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidValue", detail)
}

/// `true`/`false`, and the strings Entra ID and Okta send (`"False"`, `"true"`).
pub fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn text(v: &Value, name: &str) -> ScimResult<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        _ => Err(invalid(format!("{name} must be a string."))),
    }
}

/// The value of `name` in `o`, ignoring the case of keys.
pub fn get<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// `schemas` must list the User schema and nothing we do not serve.
fn check_schemas(o: &Map<String, Value>) -> ScimResult<()> {
    let Some(Value::Array(list)) = get(o, "schemas") else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "\"schemas\" must list the User schema.",
        ));
    };
    let mut core = false;
    for s in list {
        let s = s.as_str().unwrap_or_default();
        if s.eq_ignore_ascii_case(USER_SCHEMA) {
            core = true;
        } else if !s.eq_ignore_ascii_case(CVAT_USER_SCHEMA)
            && !s.eq_ignore_ascii_case(ENTERPRISE_SCHEMA)
        {
            return Err(ScimError::bad(
                "invalidValue",
                format!("Unknown schema \"{s}\"."),
            ));
        }
    }
    match core {
        true => Ok(()),
        false => Err(ScimError::bad(
            "invalidSyntax",
            format!("\"schemas\" must list {USER_SCHEMA}."),
        )),
    }
}

/// Reads a User resource (POST, PUT, or a PATCHed copy of the stored one). Read-only
/// attributes are ignored (RFC 7643 §2.2).
pub fn parse_user(body: &Value) -> ScimResult<UserInput> {
    let Some(o) = body.as_object() else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "The body must be a JSON object.",
        ));
    };
    check_schemas(o)?;
    let mut input = UserInput::default();
    let mut user_name = None;
    for (key, value) in o {
        let k = key.to_ascii_lowercase();
        match k.as_str() {
            "schemas" | "id" | "meta" | "groups" => {}
            "username" => user_name = Some(text(value, "userName")?),
            "name" => {
                let Value::Object(name) = value else {
                    if value.is_null() {
                        continue;
                    }
                    return Err(invalid("name must be an object."));
                };
                if let Some(v) = get(name, "givenName") {
                    input.given_name = text(v, "name.givenName")?;
                }
                if let Some(v) = get(name, "familyName") {
                    input.family_name = text(v, "name.familyName")?;
                }
            }
            "emails" => input.email = primary_email(value)?,
            "active" => {
                input.active = match value {
                    Value::Null => None,
                    v => Some(boolean(v).ok_or_else(|| invalid("active must be true or false."))?),
                }
            }
            "externalid" => {
                input.external_id = match value {
                    Value::Null => None,
                    v => Some(text(v, "externalId")?).filter(|s| !s.is_empty()),
                };
                if input
                    .external_id
                    .as_ref()
                    .is_some_and(|s| s.chars().count() > 255)
                {
                    return Err(invalid("externalId is longer than 255 characters."));
                }
            }
            "password" => input.password = Some(text(value, "password")?),
            _ if k == CVAT_USER_SCHEMA.to_ascii_lowercase() => {
                input.privilege = extension_privilege(value)?;
            }
            _ if k == ENTERPRISE_SCHEMA.to_ascii_lowercase() => {}
            _ if DROPPED.iter().any(|d| d.eq_ignore_ascii_case(&k)) => {}
            _ => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    format!("Unknown attribute \"{key}\"."),
                ))
            }
        }
    }
    input.user_name = user_name
        .filter(|u| !u.is_empty())
        .ok_or_else(|| invalid("userName is required."))?;
    Ok(input)
}

/// The primary address, else the first; none: blank.
fn primary_email(value: &Value) -> ScimResult<String> {
    let list = match value {
        Value::Null => return Ok(String::new()),
        Value::Array(list) => list,
        _ => return Err(invalid("emails must be a list.")),
    };
    let mut first = None;
    for item in list {
        let Value::Object(e) = item else {
            return Err(invalid("Each of emails must be an object."));
        };
        let address = text(get(e, "value").unwrap_or(&Value::Null), "emails.value")?;
        let primary = get(e, "primary").and_then(boolean).unwrap_or(false);
        if primary {
            return Ok(address);
        }
        first.get_or_insert(address);
    }
    Ok(first.unwrap_or_default())
}

/// The extension's `privilege`: `Some(None)` when it is removed (no system group at all).
fn extension_privilege(value: &Value) -> ScimResult<Option<Option<String>>> {
    let Value::Object(ext) = value else {
        return match value {
            Value::Null => Ok(Some(None)),
            _ => Err(invalid(format!("{CVAT_USER_SCHEMA} must be an object."))),
        };
    };
    for key in ext.keys() {
        // Some clients repeat the extension's URN inside it.
        if !key.eq_ignore_ascii_case("privilege") && !key.eq_ignore_ascii_case("schemas") {
            return Err(ScimError::bad(
                "invalidSyntax",
                format!("Unknown attribute \"{key}\" of {CVAT_USER_SCHEMA}."),
            ));
        }
    }
    match get(ext, "privilege") {
        None | Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(invalid("privilege must be a string.")),
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.9) applied to a resource: `id` and
/// `schemas` are always returned; names may carry the schema URN.
pub fn project(resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(mut o) = resource else {
        return resource;
    };
    let split = |path: &str| -> (String, Option<String>) {
        let lower = path.to_ascii_lowercase();
        let cvat = CVAT_USER_SCHEMA.to_ascii_lowercase();
        let core = USER_SCHEMA.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix(&format!("{cvat}:")) {
            return (CVAT_USER_SCHEMA.to_string(), Some(rest.to_string()));
        }
        let rest = lower.strip_prefix(&format!("{core}:")).unwrap_or(&lower);
        match rest.split_once('.') {
            Some((a, s)) => (a.to_string(), Some(s.to_string())),
            None => (rest.to_string(), None),
        }
    };
    let key_of = |o: &Map<String, Value>, name: &str| {
        o.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
    };
    if !attributes.is_empty() {
        let mut kept = Map::new();
        for always in ["schemas", "id"] {
            if let Some(v) = o.get(always) {
                kept.insert(always.into(), v.clone());
            }
        }
        for path in attributes {
            let (attr, sub) = split(path);
            let Some(key) = key_of(&o, &attr) else {
                continue;
            };
            match (sub, o.get(&key)) {
                (None, Some(v)) => {
                    kept.insert(key.clone(), v.clone());
                }
                (Some(sub), Some(Value::Object(inner))) => {
                    if let Some(sk) = key_of(inner, &sub) {
                        let slot = kept.entry(key.clone()).or_insert_with(|| json!({}));
                        slot[sk.as_str()] = inner[&sk].clone();
                    }
                }
                (Some(sub), Some(Value::Array(items))) => {
                    let picked: Vec<Value> = items
                        .iter()
                        .filter_map(|item| {
                            let inner = item.as_object()?;
                            let sk = key_of(inner, &sub)?;
                            Some(json!({ sk.clone(): inner[&sk].clone() }))
                        })
                        .collect();
                    kept.insert(key.clone(), Value::Array(picked));
                }
                _ => {}
            }
        }
        o = kept;
    }
    for path in excluded {
        let (attr, sub) = split(path);
        let Some(key) = key_of(&o, &attr) else {
            continue;
        };
        if key == "id" || key == "schemas" {
            continue;
        }
        match sub {
            None => {
                o.remove(&key);
            }
            Some(sub) => match o.get_mut(&key) {
                Some(Value::Object(inner)) => {
                    if let Some(sk) = key_of(inner, &sub) {
                        inner.remove(&sk);
                    }
                }
                Some(Value::Array(items)) => {
                    for item in items {
                        if let Some(inner) = item.as_object_mut() {
                            if let Some(sk) = key_of(inner, &sub) {
                                inner.remove(&sk);
                            }
                        }
                    }
                }
                _ => {}
            },
        }
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(extra: Value) -> Value {
        let mut b = json!({"schemas": [USER_SCHEMA], "userName": "alice"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    }

    #[test]
    fn reads_what_identity_providers_send() {
        let u = parse_user(&body(json!({
            "Name": {"givenName": "Alice", "familyName": "Liddell", "formatted": "x"},
            "emails": [{"value": "b@x.org"}, {"value": "a@x.org", "primary": "True"}],
            "ACTIVE": "False",
            "externalId": "00u1",
            "title": "dropped",
            ENTERPRISE_SCHEMA: {"department": "dropped"},
            CVAT_USER_SCHEMA: {"privilege": "worker"},
        })))
        .unwrap();
        assert_eq!(u.user_name, "alice");
        assert_eq!(
            (u.given_name.as_str(), u.family_name.as_str()),
            ("Alice", "Liddell")
        );
        assert_eq!(u.email, "a@x.org");
        assert_eq!(u.active, Some(false));
        assert_eq!(u.external_id.as_deref(), Some("00u1"));
        assert_eq!(u.privilege, Some(Some("worker".to_string())));
    }

    #[test]
    fn refuses_unknown_attributes_schemas_and_types() {
        for (bad, kind) in [
            (body(json!({"favouriteColour": "red"})), "invalidSyntax"),
            (
                body(json!({"schemas": ["urn:example:Other", USER_SCHEMA]})),
                "invalidValue",
            ),
            (body(json!({"schemas": []})), "invalidSyntax"),
            (body(json!({"active": "maybe"})), "invalidValue"),
            (body(json!({"userName": 5})), "invalidValue"),
            (body(json!({"userName": ""})), "invalidValue"),
            (body(json!({"emails": "a@x.org"})), "invalidValue"),
            (
                body(json!({CVAT_USER_SCHEMA: {"rank": 1}})),
                "invalidSyntax",
            ),
        ] {
            let e = parse_user(&bad).unwrap_err();
            assert_eq!(e.scim_type, Some(kind), "{bad}");
        }
    }

    #[test]
    fn projects_attributes() {
        let r = json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "a",
                       "name": {"givenName": "A", "familyName": "B"}, "meta": {"version": "v"}});
        let p = project(
            r.clone(),
            &["username".into(), "name.familyName".into()],
            &[],
        );
        assert_eq!(
            p,
            json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "a", "name": {"familyName": "B"}})
        );
        let p = project(
            r,
            &[],
            &[
                "meta".into(),
                format!("{USER_SCHEMA}:name.givenName"),
                "id".into(),
            ],
        );
        assert_eq!(
            p,
            json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "a", "name": {"familyName": "B"}})
        );
    }
}
