//! `components.schemas`: the models of the wire types, derived in `cvat-proto` (feature
//! `openapi`) so that each field list has one source, plus the error shapes. utoipa writes
//! OpenAPI 3.1 schemas; the document is 3.0.3 (what cvat-sdk's generator and schemathesis read as
//! CVAT's), so `to_openapi_3_0` rewrites the few 3.1 forms utoipa uses.

use serde_json::{json, Map, Value};

pub(super) fn components() -> Value {
    let mut schemas = Map::new();
    for (name, schema) in cvat_proto::openapi::models() {
        let mut schema = match serde_json::to_value(schema) {
            Ok(schema) => schema,
            Err(e) => {
                // Not reachable with utoipa's types; the schema tests would show the gap.
                tracing::error!(model = %name, error = %e, "a model did not serialize");
                continue;
            }
        };
        to_openapi_3_0(&mut schema);
        schemas.insert(name, schema);
    }
    schemas.extend(error_models());
    Value::Object(schemas)
}

/// The error bodies (`ApiError`'s four shapes).
fn error_models() -> Map<String, Value> {
    let Value::Object(map) = json!({
        "ErrorDetail": {
            "type": "object",
            "required": ["detail"],
            "properties": {"detail": {"type": "string"}}
        },
        "FieldErrors": {
            "type": "object",
            "description": "Validation errors by field; object-level ones under `non_field_errors`.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}}
        },
        "ErrorList": {
            "type": "array",
            "items": {"type": "string"}
        },
        "ErrorMessage": {
            "type": "string",
            "description": "A bare message, e.g. `\"Your invitation is already accepted.\"` (CVAT's invitation actions)."
        }
    }) else {
        unreachable!("an object literal")
    };
    map
}

/// Rewrites utoipa's OpenAPI 3.1 forms as 3.0: `"type": [T, "null"]` becomes `"type": T` with
/// `"nullable": true`, and `"oneOf": [X, {"type": "null"}]` (an optional model) becomes
/// `"allOf": [X]` with `"nullable": true`. Also drops what 3.0 CVAT does not state: integer
/// widths (`int64`) and the empty descriptions that stand in for Rust-only doc comments.
fn to_openapi_3_0(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get("type") {
                let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                if rest.len() == 1 && types.len() == 2 {
                    map.insert("type".into(), rest[0].clone());
                    map.insert("nullable".into(), Value::Bool(true));
                }
            }
            if let Some(Value::Array(variants)) = map.get("oneOf") {
                let null = json!({"type": "null"});
                let rest: Vec<Value> = variants.iter().filter(|v| **v != null).cloned().collect();
                if rest.len() == 1 && variants.len() == 2 {
                    map.remove("oneOf");
                    map.insert("allOf".into(), Value::Array(rest));
                    map.insert("nullable".into(), Value::Bool(true));
                }
            }
            if map
                .get("format")
                .is_some_and(|f| f == "int64" || f == "int32")
            {
                map.remove("format");
            }
            if map.get("description").is_some_and(|d| d == "") {
                map.remove("description");
            }
            map.iter_mut()
                .filter(|(key, _)| *key != "example")
                .for_each(|(_, v)| to_openapi_3_0(v));
        }
        Value::Array(items) => items.iter_mut().for_each(to_openapi_3_0),
        _ => {}
    }
}
