//! PATCH (RFC 7644 §3.5.2) applied to a copy of the resource as we serve it; the result is
//! then read like a PUT body (`user_json::parse_user`), so a PATCH obeys every rule a PUT does
//! and writes once, or not at all.
//!
//! Besides the RFC's forms it takes what Entra ID and Okta really send: operation names in any
//! case (`"Replace"`), a `value` object without a `path` whose keys are paths
//! (`{"name.givenName": "x"}`), booleans as strings (`"active": "False"`, read by
//! `parse_user`), and `add`/`replace` with a value-filter path that matches nothing (then an
//! element with the filter's `eq` values is added, as Entra ID expects for
//! `emails[type eq "work"].value`). A `remove` (or a `replace` of whole elements) whose filter
//! matches nothing is `noTarget`.

use serde_json::{Map, Value};

use super::user_json::get;
use super::{ScimError, ScimResult, CVAT_USER_SCHEMA, PATCH_SCHEMA, USER_SCHEMA};
use crate::scim::eval;
use crate::scim::filter::{self, CompValue, CompareOp, Filter, PatchPath};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// Attributes a PATCH may not touch.
const READ_ONLY: [&str; 3] = ["id", "meta", "groups"];

/// Applies the PatchOp `body` to `resource` (a User resource, as served).
pub fn apply(resource: &mut Value, body: &Value) -> ScimResult<()> {
    let Some(o) = body.as_object() else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "The body must be a JSON object.",
        ));
    };
    let schemas_ok = matches!(get(o, "schemas"), Some(Value::Array(s))
        if s.iter().any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA))));
    if !schemas_ok {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("\"schemas\" must be [\"{PATCH_SCHEMA}\"]."),
        ));
    }
    let Some(Value::Array(operations)) = get(o, "Operations") else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "\"Operations\" must be a list.",
        ));
    };
    if operations.is_empty() {
        return Err(ScimError::bad("invalidSyntax", "\"Operations\" is empty."));
    }
    for operation in operations {
        let Some(operation) = operation.as_object() else {
            return Err(ScimError::bad(
                "invalidSyntax",
                "Each operation must be an object.",
            ));
        };
        let op = match get(operation, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
        {
            Some(o) if o == "add" => Op::Add,
            Some(o) if o == "remove" => Op::Remove,
            Some(o) if o == "replace" => Op::Replace,
            _ => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    "\"op\" must be add, remove or replace.",
                ))
            }
        };
        let value = get(operation, "value");
        match get(operation, "path") {
            None | Some(Value::Null) => {
                if op == Op::Remove {
                    return Err(ScimError::bad("noTarget", "remove needs a path."));
                }
                let Some(Value::Object(values)) = value else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "Without a path, value must be an object.",
                    ));
                };
                for (key, v) in values {
                    apply_one(resource, op, key, Some(v))?;
                }
            }
            Some(Value::String(path)) => {
                if op != Op::Remove && value.is_none() {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "add and replace need a value.",
                    ));
                }
                apply_one(resource, op, path, value)?;
            }
            Some(_) => return Err(ScimError::bad("invalidPath", "path must be a string.")),
        }
    }
    Ok(())
}

fn invalid_path(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidPath", detail)
}

/// The key of `name` in `o` ignoring case, or `name` itself.
fn key_in(o: &Map<String, Value>, name: &str) -> String {
    o.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

fn apply_one(
    resource: &mut Value,
    op: Op,
    path_text: &str,
    value: Option<&Value>,
) -> ScimResult<()> {
    // The extension's URN alone names its object: `{"urn:...:User": {"systemGroups": [...]}}`.
    if path_text.eq_ignore_ascii_case(CVAT_USER_SCHEMA) {
        return match (op, value) {
            (Op::Remove, _) => {
                if let Some(root) = resource.as_object_mut() {
                    let key = key_in(root, CVAT_USER_SCHEMA);
                    root.remove(&key);
                }
                Ok(())
            }
            (_, Some(Value::Object(values))) => {
                for (k, v) in values {
                    apply_one(resource, op, &format!("{CVAT_USER_SCHEMA}:{k}"), Some(v))?;
                }
                Ok(())
            }
            _ => Err(ScimError::bad(
                "invalidValue",
                "The extension's value must be an object.",
            )),
        };
    }
    let path = filter::parse_path(path_text).map_err(|e| invalid_path(e.0))?;
    let Some(root) = resource.as_object_mut() else {
        return Err(ScimError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "resource",
        ));
    };
    let target: &mut Map<String, Value> = match path.attr.urn.as_deref() {
        None => root,
        Some(u) if u.eq_ignore_ascii_case(USER_SCHEMA) => root,
        Some(u) if u.eq_ignore_ascii_case(CVAT_USER_SCHEMA) => {
            let key = key_in(root, CVAT_USER_SCHEMA);
            let slot = root.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            match slot.as_object_mut() {
                Some(m) => m,
                None => return Err(invalid_path("extension")),
            }
        }
        Some(u) if u.eq_ignore_ascii_case(super::user_json::ENTERPRISE_SCHEMA) => return Ok(()),
        Some(u) => return Err(invalid_path(format!("Unknown schema \"{u}\"."))),
    };
    if READ_ONLY
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&path.attr.attr))
        && path.attr.urn.is_none()
    {
        return Err(ScimError::bad(
            "mutability",
            format!("{} is read-only.", path.attr.attr),
        ));
    }
    let key = key_in(target, &path.attr.attr);
    match (&path.filter, &path.attr.sub) {
        (None, None) => whole(target, &key, op, value),
        (None, Some(sub)) => {
            let slot = target
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            let Some(inner) = slot.as_object_mut() else {
                return Err(invalid_path(format!(
                    "{} has no sub-attributes.",
                    path.attr.attr
                )));
            };
            let sub_key = key_in(inner, sub);
            match (op, value) {
                (Op::Remove, _) => {
                    inner.remove(&sub_key);
                }
                (_, Some(v)) => {
                    inner.insert(sub_key, v.clone());
                }
                (_, None) => return Err(ScimError::bad("invalidValue", "A value is needed.")),
            }
            Ok(())
        }
        (Some(f), _) => filtered(target, &key, &path, f, op, value),
    }
}

/// add/replace/remove of a whole attribute.
fn whole(
    target: &mut Map<String, Value>,
    key: &str,
    op: Op,
    value: Option<&Value>,
) -> ScimResult<()> {
    match (op, value) {
        (Op::Remove, _) => {
            target.remove(key);
        }
        (_, None) => return Err(ScimError::bad("invalidValue", "A value is needed.")),
        (Op::Add, Some(Value::Array(new))) => match target.get_mut(key) {
            // add to a multi-valued attribute appends.
            Some(Value::Array(items)) => items.extend(new.iter().cloned()),
            _ => {
                target.insert(key.to_string(), Value::Array(new.clone()));
            }
        },
        // add or replace of a complex attribute sets the sub-attributes given.
        (_, Some(Value::Object(new))) if matches!(target.get(key), Some(Value::Object(_))) => {
            if let Some(Value::Object(inner)) = target.get_mut(key) {
                for (k, v) in new {
                    let sk = key_in(inner, k);
                    inner.insert(sk, v.clone());
                }
            }
        }
        (_, Some(v)) => {
            target.insert(key.to_string(), v.clone());
        }
    }
    Ok(())
}

/// An operation on the elements of multi-valued `key` that match `f`.
fn filtered(
    target: &mut Map<String, Value>,
    key: &str,
    path: &PatchPath,
    f: &Filter,
    op: Op,
    value: Option<&Value>,
) -> ScimResult<()> {
    let items = match target
        .entry(key.to_string())
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(items) => items,
        _ => return Err(invalid_path(format!("{key} is not multi-valued."))),
    };
    let mut hits = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if eval::matches(f, item).map_err(invalid_path)? {
            hits.push(i);
        }
    }
    if hits.is_empty() {
        // Entra ID: `emails[type eq "work"].value` on a user without one adds it.
        if let (Op::Add | Op::Replace, Some(sub), Some(v)) = (op, &path.sub, value) {
            let mut element = Map::new();
            equalities(f, &mut element);
            element.insert(sub.clone(), v.clone());
            // A user has one address: the new one takes the place of any other.
            if key.eq_ignore_ascii_case("emails") {
                items.clear();
            }
            items.push(Value::Object(element));
            return Ok(());
        }
        return Err(ScimError::bad(
            "noTarget",
            format!("No value of {key} matches the path's filter."),
        ));
    }
    match (&path.sub, op) {
        (None, Op::Remove) => {
            for i in hits.into_iter().rev() {
                items.remove(i);
            }
        }
        (None, _) => {
            let Some(Value::Object(new)) = value else {
                return Err(ScimError::bad(
                    "invalidValue",
                    "The value for matching elements must be an object.",
                ));
            };
            for i in hits {
                if let Some(element) = items[i].as_object_mut() {
                    for (k, v) in new {
                        let sk = key_in(element, k);
                        element.insert(sk, v.clone());
                    }
                }
            }
        }
        (Some(sub), _) => {
            for i in hits {
                if let Some(element) = items[i].as_object_mut() {
                    let sk = key_in(element, sub);
                    match (op, value) {
                        (Op::Remove, _) => {
                            element.remove(&sk);
                        }
                        (_, Some(v)) => {
                            element.insert(sk, v.clone());
                        }
                        (_, None) => {}
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `attr eq value` comparisons an `and` of them states.
fn equalities(f: &Filter, out: &mut Map<String, Value>) {
    match f {
        Filter::And(a, b) => {
            equalities(a, out);
            equalities(b, out);
        }
        Filter::Compare(p, CompareOp::Eq, v) if p.sub.is_none() => {
            let value = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Num(n) => {
                    serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
                }
                CompValue::Null => Value::Null,
            };
            out.insert(p.attr.clone(), value);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "alice", "active": true,
               "name": {"givenName": "A", "familyName": "B"},
               "emails": [{"value": "a@x.org", "type": "work", "primary": true}],
               CVAT_USER_SCHEMA: {"privilege": "user"}})
    }

    fn patch(ops: Value) -> Value {
        json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
    }

    #[test]
    fn applies_the_forms_providers_send() {
        let mut u = user();
        apply(&mut u, &patch(json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "replace", "value": {"name.givenName": "Ann", "userName": "ann"}},
            {"op": "add", "path": "emails[type eq \"work\"].value", "value": "b@x.org"},
            {"op": "replace", "path": format!("{CVAT_USER_SCHEMA}:privilege"), "value": "worker"},
            {"op": "remove", "path": "name.familyName"},
        ]))).unwrap();
        assert_eq!(u["active"], "False");
        assert_eq!(u["name"], json!({"givenName": "Ann"}));
        assert_eq!(u["userName"], "ann");
        assert_eq!(u["emails"][0]["value"], "b@x.org");
        assert_eq!(u[CVAT_USER_SCHEMA]["privilege"], "worker");
    }

    #[test]
    fn refuses_bad_operations() {
        for (ops, kind) in [
            (json!([{"op": "remove"}]), "noTarget"),
            (json!([{"op": "move", "path": "active"}]), "invalidSyntax"),
            (
                json!([{"op": "replace", "path": "id", "value": "2"}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "path": "emails[value eq \"none@x.org\"]", "value": {"value": "c@x.org"}}]),
                "noTarget",
            ),
            (
                json!([{"op": "remove", "path": "emails[value eq \"none@x.org\"]"}]),
                "noTarget",
            ),
            (
                json!([{"op": "replace", "path": "emails[value eq", "value": 1}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "urn:example:x:attr", "value": 1}]),
                "invalidPath",
            ),
            (json!([]), "invalidSyntax"),
        ] {
            let e = apply(&mut user(), &patch(ops.clone())).unwrap_err();
            assert_eq!(e.scim_type, Some(kind), "{ops}");
        }
        let e = apply(&mut user(), &json!({"Operations": []})).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidSyntax"));
    }
}
