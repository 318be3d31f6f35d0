//! RFC 7644 §4's discovery endpoints: what this provider supports (`ServiceProviderConfig`),
//! which resources it serves (`ResourceTypes`) and their attributes (`Schemas`). The schemas
//! list exactly what `user_json` reads and writes, with RFC 7643's mutability and case rules,
//! so a client (and `scim2-tester`, which fills every published attribute) sees what it gets.
//! `password` is accepted (write only) but not published: the server's password rules refuse
//! values too similar to the user's names, which random test values often are, and no identity
//! provider reads the schema to decide whether to send one.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::{
    base_url, scim_json, ScimError, ScimRequester, ScimResult, LIST_SCHEMA, MAX_BODY, MAX_RESULTS,
};
use super::{CVAT_USER_SCHEMA, USER_SCHEMA};
use crate::state::SharedState;

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub async fn service_provider_config(_: ScimRequester, parts: Parts) -> Response {
    let base = base_url(&parts);
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [SPC_SCHEMA],
            "documentationUri": "https://github.com/cvat-ai/cvat",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": MAX_BODY},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": true},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "SCIM token",
                "description": "An access token an administrator created with \"scim\": true (POST /api/auth/access_tokens), sent as Authorization: Bearer.",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
        }),
    )
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A CVAT user account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [{"schema": CVAT_USER_SCHEMA, "required": false}],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
    })
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub async fn resource_types(_: ScimRequester, parts: Parts) -> Response {
    scim_json(
        StatusCode::OK,
        &list(vec![user_resource_type(&base_url(&parts))]),
    )
}

pub async fn resource_type(_: ScimRequester, parts: Parts) -> ScimResult<Response> {
    match crate::http::path_tail(&parts).as_str() {
        "User" => Ok(scim_json(
            StatusCode::OK,
            &user_resource_type(&base_url(&parts)),
        )),
        _ => Err(ScimError::not_found("No such resource type.")),
    }
}

/// One attribute of a schema (RFC 7643 §7).
fn attribute(name: &str, kind: &str, mutability: &str, returned: &str, description: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "description": description,
        "required": false,
        "caseExact": false,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": "none",
    })
}

fn with(mut a: Value, key: &str, value: Value) -> Value {
    a[key] = value;
    a
}

fn user_schema(base: &str) -> Value {
    let text = |name: &str, description: &str| {
        attribute(name, "string", "readWrite", "default", description)
    };
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "User Account",
        "attributes": [
            with(with(text("userName", "The user's login name (5 to 150 letters, digits and @/./+/-/_; unique ignoring case)."),
                "required", json!(true)), "uniqueness", json!("server")),
            with(text("externalId", "The provisioning client's id of the user."), "caseExact", json!(true)),
            with(attribute("name", "complex", "readWrite", "default", "The user's names."), "subAttributes", json!([
                text("givenName", "First name (at most 150 characters)."),
                text("familyName", "Last name (at most 150 characters)."),
            ])),
            with(with(attribute("emails", "complex", "readWrite", "default",
                "The user's e-mail address: CVAT keeps one (the one marked primary, else the first)."), "multiValued", json!(true)),
                "subAttributes", json!([
                    text("value", "The address."),
                    with(text("type", "Always work."), "canonicalValues", json!(["work"])),
                ])),
            // Required: an account is always on or off (a PATCH cannot remove it).
            with(attribute("active", "boolean", "readWrite", "default", "Whether the account may sign in; false revokes its sessions and tokens."),
                "required", json!(true)),
            with(with(attribute("groups", "complex", "readOnly", "default",
                "The organizations the user is an active member of."), "multiValued", json!(true)),
                "subAttributes", json!([
                    attribute("value", "string", "readOnly", "default", "The organization's id."),
                    attribute("display", "string", "readOnly", "default", "The organization's slug."),
                    attribute("type", "string", "readOnly", "default", "Always direct."),
                ])),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")},
    })
}

fn cvat_user_schema(base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": CVAT_USER_SCHEMA,
        "name": "CvatUser",
        "description": "CVAT's privilege of a user",
        "attributes": [
            with(with(attribute("privilege", "string", "readWrite", "default",
                "CVAT's privilege: the highest of the user's system groups. Setting it makes it the user's only system group; removing it leaves none."),
                "canonicalValues", json!(["admin", "business", "user", "worker"])),
                "caseExact", json!(true)),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{CVAT_USER_SCHEMA}")},
    })
}

pub async fn schemas(_: ScimRequester, parts: Parts) -> Response {
    let base = base_url(&parts);
    scim_json(
        StatusCode::OK,
        &list(vec![user_schema(&base), cvat_user_schema(&base)]),
    )
}

pub async fn schema(
    State(_state): State<SharedState>,
    _: ScimRequester,
    parts: Parts,
) -> ScimResult<Response> {
    let base = base_url(&parts);
    let id = crate::http::path_tail(&parts);
    let id = percent_encoding::percent_decode_str(&id)
        .decode_utf8_lossy()
        .to_string();
    match id.as_str() {
        USER_SCHEMA => Ok(scim_json(StatusCode::OK, &user_schema(&base))),
        CVAT_USER_SCHEMA => Ok(scim_json(StatusCode::OK, &cvat_user_schema(&base))),
        _ => Err(ScimError::not_found("No such schema.")),
    }
}
