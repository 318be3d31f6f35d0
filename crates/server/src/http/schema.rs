//! `GET /api/schema/`: the OpenAPI 3.0 document of every route the API serves, with CVAT's
//! operation ids and model names; and Swagger UI at `/api/docs/`, served from files embedded in
//! the binary (`assets/swagger-ui/`, no CDN).
//!
//! The document is plain data: one function per resource lists its operations, `schemas()` its
//! models. `tests/api/schema.rs` checks it against the router (every route documented, nothing
//! documented that the router lacks) and `scripts/schemathesis` checks real answers against it.
//! Both are anonymous, like CVAT's, and skip the API's `Accept` negotiation: they have their own
//! media types.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use super::links;
use crate::error::ApiError;
use crate::state::SharedState;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/api/schema/",
            get(schema).fallback(super::method_not_allowed),
        )
        .route(
            "/api/docs/",
            get(docs_index).fallback(super::method_not_allowed),
        )
        .route(
            "/api/docs/{file}",
            get(docs_file).fallback(super::method_not_allowed),
        )
}

// --- serving ---------------------------------------------------------------------------------

const OPENAPI_JSON: &str = "application/vnd.oai.openapi+json";
const OPENAPI_YAML: &str = "application/vnd.oai.openapi";

/// The document, rendered once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn rendered_json() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| serde_json::to_string(document()).expect("serializable"))
}

fn rendered_yaml() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut out = String::new();
        yaml::write(document(), 0, &mut out);
        out
    })
}

/// JSON by default; YAML for `?format=yaml` or an `Accept` that names YAML and not JSON.
async fn schema(parts: Parts) -> Response {
    let accept = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let yaml = match links::query_value(&parts, "format").as_deref() {
        Some("yaml") => true,
        Some("json") => false,
        _ => accept.contains("yaml") || (accept.contains(OPENAPI_YAML) && !accept.contains("json")),
    };
    let (content_type, body) = if yaml {
        (OPENAPI_YAML, rendered_yaml())
    } else if accept.contains("application/json") && !accept.contains(OPENAPI_JSON) {
        ("application/json", rendered_json())
    } else {
        (OPENAPI_JSON, rendered_json())
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// Swagger UI's files, from the npm package `swagger-ui-dist` (see `assets/swagger-ui/README.md`).
mod assets {
    pub const INDEX: &str = include_str!("../../assets/swagger-ui/index.html");
    pub const CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");
    pub const BUNDLE: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
}

async fn docs_index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // The page names its assets with a version query, so it must be revalidated.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        assets::INDEX,
    )
        .into_response()
}

async fn docs_file(Path(file): Path<String>) -> Response {
    let (content_type, bytes) = match file.as_str() {
        "swagger-ui.css" => ("text/css; charset=utf-8", assets::CSS),
        "swagger-ui-bundle.js" => ("text/javascript; charset=utf-8", assets::BUNDLE),
        "index.html" => return docs_index().await,
        _ => return ApiError::NoRoute.into_response(),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response()
}

// --- the document ----------------------------------------------------------------------------

fn build() -> Value {
    let ops = [
        users(),
        auth(),
        access_tokens(),
        server(),
        organizations(),
        memberships(),
        invitations(),
        schema_ops(),
    ]
    .into_iter()
    .flatten();
    let mut paths = Map::new();
    for op in ops {
        let item = paths
            .entry(op.path)
            .or_insert_with(|| Value::Object(Map::new()));
        item[op.method] = op.to_json();
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "CVAT REST API",
            "version": "2.3.0",
            "description": "The Users API of the Computer Vision Annotation Tool (CVAT): users, authentication, personal access tokens, organizations, memberships and invitations. Compatible with CVAT 2.3.0 and the official cvat-sdk clients.",
            "license": {"name": "MIT License", "url": "https://en.wikipedia.org/wiki/MIT_License"}
        },
        "paths": paths,
        "components": {
            "schemas": with_password_reset(schemas()),
            "responses": error_responses(),
            "securitySchemes": security_schemes()
        },
        "tags": [
            {"name": "auth", "description": "Logging in and out, registration, passwords, signed URLs, personal access tokens"},
            {"name": "users", "description": "User accounts"},
            {"name": "organizations", "description": "Organizations"},
            {"name": "memberships", "description": "Organization memberships"},
            {"name": "invitations", "description": "Invitations to organizations (accepted on creation)"},
            {"name": "server", "description": "Server information and health"},
            {"name": "schema", "description": "This document"}
        ]
    })
}

/// Who may call an operation.
#[derive(Clone, Copy)]
enum Access {
    /// Any credentials (401 without).
    Authenticated,
    /// Credentials are checked when sent, but none are needed.
    Optional,
    /// Credentials are ignored.
    Anonymous,
}

/// One operation of the document.
struct Op {
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    access: Access,
    params: Vec<Value>,
    body: Option<Value>,
    answers: Vec<(u16, Value)>,
    errors: Vec<u16>,
}

fn op(method: &'static str, path: &'static str, id: &'static str, summary: &'static str) -> Op {
    Op {
        method,
        path,
        id,
        summary,
        access: Access::Authenticated,
        params: Vec::new(),
        body: None,
        answers: Vec::new(),
        errors: Vec::new(),
    }
}

impl Op {
    fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }
    fn params(mut self, params: impl IntoIterator<Item = Value>) -> Self {
        self.params.extend(params);
        self
    }
    /// A JSON request body of model `name` (`required` as in CVAT for POSTs).
    fn json_body(mut self, name: &str, required: bool) -> Self {
        self.body = Some(json!({
            "content": {"application/json": {"schema": model(name)}},
            "required": required
        }));
        self
    }
    /// JSON, form and multipart request bodies of model `name` (what DRF's parsers take).
    fn form_body(mut self, name: &str, required: bool) -> Self {
        let schema = model(name);
        self.body = Some(json!({
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
                "multipart/form-data": {"schema": schema}
            },
            "required": required
        }));
        self
    }
    /// A JSON answer (CVAT's media type) with a body of `schema`.
    fn ok(self, status: u16, description: &str, schema: Value) -> Self {
        self.answer(
            status,
            json!({
                "description": description,
                "content": {"application/vnd.cvat+json": {"schema": schema}}
            }),
        )
    }
    /// An answer without a body.
    fn empty(self, status: u16, description: &str) -> Self {
        self.answer(status, json!({ "description": description }))
    }
    fn answer(mut self, status: u16, response: Value) -> Self {
        self.answers.push((status, response));
        self
    }
    fn errors(mut self, codes: &[u16]) -> Self {
        self.errors.extend_from_slice(codes);
        self
    }

    fn to_json(&self) -> Value {
        let tag = self
            .path
            .trim_start_matches("/api/")
            .split('/')
            .next()
            .unwrap_or("");
        let mut out = json!({
            "operationId": self.id,
            "summary": self.summary,
            "tags": [tag],
        });
        if !self.params.is_empty() {
            out["parameters"] = Value::Array(self.params.clone());
        }
        if let Some(body) = &self.body {
            out["requestBody"] = body.clone();
        }
        if let Some(security) = self.security() {
            out["security"] = security;
        }
        let mut responses = Map::new();
        for (status, response) in &self.answers {
            responses.insert(status.to_string(), response.clone());
        }
        let mut errors = self.errors.clone();
        errors.sort_unstable();
        errors.dedup();
        for code in errors {
            let name = error_name(code);
            responses.insert(
                code.to_string(),
                json!({ "$ref": format!("#/components/responses/{name}") }),
            );
        }
        out["responses"] = Value::Object(responses);
        out
    }

    /// CVAT's lists: any one of the schemes (session cookies need CSRF for unsafe methods).
    fn security(&self) -> Option<Value> {
        let session = if self.method == "get" {
            json!({"sessionAuth": []})
        } else {
            json!({"sessionAuth": [], "csrfAuth": [], "csrfHeaderAuth": []})
        };
        let mut list = vec![
            json!({"tokenAuth": []}),
            json!({"accessTokenAuth": []}),
            json!({"basicAuth": []}),
            session,
            json!({"signatureAuth": []}),
        ];
        match self.access {
            Access::Authenticated => {}
            Access::Optional => list.push(json!({})),
            Access::Anonymous => return None,
        }
        Some(Value::Array(list))
    }
}

fn model(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn nullable_model(name: &str) -> Value {
    json!({ "allOf": [model(name)], "nullable": true })
}

// Error sets. Every authenticated operation can answer 401 (no or bad credentials), 400 (a bad
// organization selector), 403 (not a member of the selected organization, CSRF, read-only
// access token, or the policy), 406 (`Accept`) and 429 (Basic credentials of a locked account).
const AUTHENTICATED: &[u16] = &[400, 401, 403, 406, 429];
/// Operations that read a request body: too large, or of a type no parser takes.
const BODY: &[u16] = &[413, 415];
const DETAIL: &[u16] = &[404];

fn error_name(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        406 => "NotAcceptable",
        409 => "Conflict",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        429 => "TooManyRequests",
        _ => panic!("no shared response for status {code}"),
    }
}

// --- parameters --------------------------------------------------------------------------------

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

fn path_id(what: &str) -> Value {
    json!({
        "name": "id", "in": "path", "required": true, "schema": {"type": "integer"},
        "description": format!("A unique integer value identifying this {what}.")
    })
}

/// `org`, `org_id` and `X-Organization`: the organization a request works in (spec §3.2).
fn org_params() -> Vec<Value> {
    vec![
        json!({"name": "X-Organization", "in": "header", "required": false, "schema": {"type": "string"},
               "description": "Organization unique slug (empty: the personal workspace)"}),
        query("org", json!({"type": "string"}), "Organization unique slug"),
        query(
            "org_id",
            json!({"type": "integer"}),
            "Organization identifier",
        ),
    ]
}

fn page_params() -> Vec<Value> {
    vec![
        query(
            "page",
            json!({"type": "integer"}),
            "A page number within the paginated result set.",
        ),
        query(
            "page_size",
            json!({"type": "integer"}),
            "Number of results to return per page.",
        ),
    ]
}

fn user_list_params() -> Vec<Value> {
    let mut params = org_params();
    params.extend([
        query("filter", json!({"type": "string"}),
            "JSON Logic filter. Available filter_fields: ['username', 'first_name', 'last_name', 'id', 'is_active']."),
        query("first_name", json!({"type": "string"}), "A simple equality filter for the first_name field"),
        query("is_active", json!({"type": "boolean"}), "A simple equality filter for the is_active field"),
        query("last_name", json!({"type": "string"}), "A simple equality filter for the last_name field"),
    ]);
    params.extend(page_params());
    params.extend([
        query("search", json!({"type": "string"}),
            "A search term. Available search_fields: ('username', 'first_name', 'last_name')"),
        query("sort", json!({"type": "string"}),
            "Which field to use when ordering the results. Available ordering_fields: ['username', 'first_name', 'last_name', 'id', 'is_active']"),
        query("username", json!({"type": "string"}), "A simple equality filter for the username field"),
    ]);
    params
}

// --- operations, per resource ---------------------------------------------------------------------

fn users() -> Vec<Op> {
    let meta_user = || model("MetaUser");
    vec![
        op("get", "/api/users", "users_list", "List users")
            .params(user_list_params())
            .ok(200, "", model("PaginatedMetaUserList"))
            .errors(AUTHENTICATED)
            .errors(&[404]),
        op(
            "post",
            "/api/users",
            "users_create",
            "Create a user (administrators only)",
        )
        .form_body("UserCreateRequest", true)
        .ok(201, "", model("User"))
        .errors(AUTHENTICATED)
        .errors(BODY),
        op(
            "get",
            "/api/users/self",
            "users_retrieve_self",
            "Get details of the current user",
        )
        .ok(200, "", meta_user())
        .errors(AUTHENTICATED),
        op(
            "get",
            "/api/users/{id}",
            "users_retrieve",
            "Get user details",
        )
        .params([path_id("user")])
        .ok(200, "", meta_user())
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "patch",
            "/api/users/{id}",
            "users_partial_update",
            "Update a user",
        )
        .params([path_id("user")])
        .form_body("PatchedUserRequest", false)
        .ok(200, "", meta_user())
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(BODY)
        .errors(&[409]),
        op(
            "delete",
            "/api/users/{id}",
            "users_destroy",
            "Delete a user",
        )
        .params([path_id("user")])
        .empty(204, "The user has been deleted")
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(&[409]),
        op(
            "post",
            "/api/users/{id}/password",
            "users_create_password",
            "Set a user's password (administrators only); revokes the user's sessions and tokens",
        )
        .params([path_id("user")])
        .form_body("UserPasswordRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(BODY),
    ]
}

fn auth() -> Vec<Op> {
    vec![
        op(
            "post",
            "/api/auth/login",
            "auth_create_login",
            "Log in: returns the REST token and starts a session",
        )
        .access(Access::Optional)
        .json_body("LoginSerializerExRequest", true)
        .ok(200, "", model("Token"))
        .errors(&[400, 401, 403, 406, 429])
        .errors(BODY),
        op(
            "post",
            "/api/auth/logout",
            "auth_create_logout",
            "Log out: deletes the user's token and session",
        )
        .access(Access::Optional)
        .ok(200, "", model("RestAuthDetail"))
        .errors(&[401, 403, 406, 429]),
        op(
            "post",
            "/api/auth/register",
            "auth_create_register",
            "Register a new user",
        )
        .access(Access::Optional)
        .json_body("RegisterSerializerExRequest", true)
        .ok(201, "", model("RegisterSerializerEx"))
        .errors(&[400, 401, 403, 406, 429])
        .errors(BODY),
        op(
            "post",
            "/api/auth/password/change",
            "auth_create_password_change",
            "Change the current user's password",
        )
        .json_body("PasswordChangeRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(AUTHENTICATED)
        .errors(BODY),
        op(
            "post",
            "/api/auth/password/reset",
            "auth_create_password_reset",
            "Mail a password reset link (the same answer whether or not the address has an account)",
        )
        .access(Access::Optional)
        .json_body("PasswordResetSerializerExRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(&[400, 401, 403, 406, 429])
        .errors(BODY),
        op(
            "post",
            "/api/auth/password/reset/confirm",
            "auth_create_password_reset_confirm",
            "Set a new password with the uid and token of a reset link",
        )
        .access(Access::Optional)
        .json_body("PasswordResetConfirmRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(&[400, 401, 403, 406, 429])
        .errors(BODY),
        op(
            "post",
            "/api/auth/signing",
            "auth_create_signing",
            "Sign a URL for the current user",
        )
        .json_body("SigningRequest", true)
        .ok(200, "text URL", json!({"type": "string"}))
        .errors(AUTHENTICATED)
        .errors(BODY),
    ]
}

fn access_tokens() -> Vec<Op> {
    let read = || model("AccessTokenRead");
    vec![
        op(
            "get",
            "/api/auth/access_tokens",
            "auth_list_access_tokens",
            "List the current user's access tokens",
        )
        .params(page_params())
        .ok(200, "", model("PaginatedAccessTokenReadList"))
        .errors(AUTHENTICATED)
        .errors(&[404]),
        op(
            "post",
            "/api/auth/access_tokens",
            "auth_create_access_tokens",
            "Create an access token (its value is shown only here)",
        )
        .json_body("AccessTokenWriteRequest", true)
        .ok(201, "", read())
        .errors(AUTHENTICATED)
        .errors(BODY),
        op(
            "get",
            "/api/auth/access_tokens/self",
            "auth_retrieve_access_tokens_self",
            "Get the access token of this request (404 for other credentials)",
        )
        .ok(200, "", read())
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "get",
            "/api/auth/access_tokens/{id}",
            "auth_retrieve_access_tokens",
            "Get access token details",
        )
        .params([path_id("access token")])
        .ok(200, "", read())
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "patch",
            "/api/auth/access_tokens/{id}",
            "auth_partial_update_access_tokens",
            "Update an access token",
        )
        .params([path_id("access token")])
        .json_body("PatchedAccessTokenWriteRequest", false)
        .ok(200, "", read())
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(BODY),
        op(
            "delete",
            "/api/auth/access_tokens/{id}",
            "auth_destroy_access_tokens",
            "Revoke an access token",
        )
        .params([path_id("access token")])
        .empty(204, "The token has been revoked")
        .errors(AUTHENTICATED)
        .errors(DETAIL),
    ]
}

fn server() -> Vec<Op> {
    vec![
        op(
            "get",
            "/api/server/about",
            "server_retrieve_about",
            "Get basic CVAT information",
        )
        .access(Access::Anonymous)
        .ok(200, "", model("About"))
        .errors(&[406]),
        op(
            "get",
            "/api/server/health",
            "server_retrieve_health",
            "Check that the server and its database work",
        )
        .access(Access::Anonymous)
        .ok(200, "The server and its database work", model("Health"))
        .ok(503, "The database does not answer", model("Health"))
        .errors(&[406]),
    ]
}

fn organizations() -> Vec<Op> {
    let read = || model("OrganizationRead");
    let mut list_params = org_params();
    list_params.push(query(
        "search",
        json!({"type": "string"}),
        "A search term. Available search_fields: ('name', 'owner')",
    ));
    vec![
        op(
            "get",
            "/api/organizations",
            "organizations_list",
            "List organizations (not paginated)",
        )
        .params(list_params)
        .ok(
            200,
            "",
            json!({"type": "array", "items": model("OrganizationRead")}),
        )
        .errors(AUTHENTICATED),
        op(
            "post",
            "/api/organizations",
            "organizations_create",
            "Create an organization",
        )
        .params(org_params())
        .json_body("OrganizationWriteRequest", true)
        .ok(201, "", read())
        .errors(AUTHENTICATED)
        .errors(BODY),
        op(
            "get",
            "/api/organizations/{id}",
            "organizations_retrieve",
            "Get organization details",
        )
        .params([path_id("organization")])
        .ok(200, "", read())
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "patch",
            "/api/organizations/{id}",
            "organizations_partial_update",
            "Update an organization",
        )
        .params([path_id("organization")])
        .json_body("PatchedOrganizationWriteRequest", false)
        .ok(200, "", read())
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(BODY),
        op(
            "delete",
            "/api/organizations/{id}",
            "organizations_destroy",
            "Delete an organization",
        )
        .params([path_id("organization")])
        .empty(204, "The organization has been deleted")
        .errors(AUTHENTICATED)
        .errors(DETAIL),
    ]
}

fn memberships() -> Vec<Op> {
    let read = || model("MembershipRead");
    let mut list_params = org_params();
    list_params.extend(page_params());
    vec![
        op(
            "get",
            "/api/memberships",
            "memberships_list",
            "List memberships",
        )
        .params(list_params)
        .ok(200, "", model("PaginatedMembershipReadList"))
        .errors(AUTHENTICATED)
        .errors(&[404]),
        op(
            "get",
            "/api/memberships/{id}",
            "memberships_retrieve",
            "Get membership details",
        )
        .params([path_id("membership")])
        .ok(200, "", read())
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "patch",
            "/api/memberships/{id}",
            "memberships_partial_update",
            "Change the role of a member",
        )
        .params([path_id("membership")])
        .json_body("PatchedMembershipWriteRequest", false)
        .ok(200, "", read())
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(BODY),
        op(
            "delete",
            "/api/memberships/{id}",
            "memberships_destroy",
            "Delete a membership",
        )
        .params([path_id("membership")])
        .empty(204, "The membership has been deleted")
        .errors(AUTHENTICATED)
        .errors(DETAIL),
    ]
}

fn invitations() -> Vec<Op> {
    let mut list_params = org_params();
    list_params.extend(page_params());
    vec![
        op(
            "get",
            "/api/invitations",
            "invitations_list",
            "List invitations",
        )
        .params(list_params)
        .ok(200, "", model("PaginatedInvitationReadList"))
        .errors(AUTHENTICATED)
        .errors(&[404]),
        op(
            "post",
            "/api/invitations",
            "invitations_create",
            "Invite a user to the selected organization (accepted at once)",
        )
        .params(org_params())
        .json_body("InvitationWriteRequest", true)
        .ok(201, "", model("InvitationRead"))
        .errors(AUTHENTICATED)
        .errors(BODY),
        op(
            "get",
            "/api/invitations/{key}",
            "invitations_retrieve",
            "Get invitation details",
        )
        .params([json!({
            "name": "key", "in": "path", "required": true, "schema": {"type": "string"},
            "description": "A unique value identifying this invitation."
        })])
        .ok(200, "", model("InvitationRead"))
        .errors(AUTHENTICATED)
        .errors(DETAIL),
    ]
}

fn schema_ops() -> Vec<Op> {
    let document = json!({"schema": {"type": "object", "additionalProperties": {}}});
    vec![op(
        "get",
        "/api/schema/",
        "schema_retrieve",
        "This OpenAPI 3.0 document",
    )
    .access(Access::Anonymous)
    .params([query(
        "format",
        json!({"type": "string", "enum": ["json", "yaml"]}),
        "json (default) or yaml; without it, an Accept header that names YAML selects YAML",
    )])
    .answer(
        200,
        json!({
            "description": "",
            "content": {
                OPENAPI_JSON: document,
                "application/json": document,
                OPENAPI_YAML: document,
            }
        }),
    )]
}

// --- shared error answers -------------------------------------------------------------------------

fn error_responses() -> Value {
    let detail = |description: &str| {
        json!({
            "description": description,
            "content": {"application/vnd.cvat+json": {"schema": model("ErrorDetail")}}
        })
    };
    let mut unauthorized = detail("No, or invalid, credentials");
    unauthorized["headers"] = json!({
        "WWW-Authenticate": {"required": true, "schema": {"type": "string", "enum": ["Token"]}}
    });
    let mut throttled = detail("Password logins of this account or address are locked for a while");
    throttled["headers"] = json!({
        "Retry-After": {"required": true, "description": "Seconds until the lock ends", "schema": {"type": "integer"}}
    });
    json!({
        "BadRequest": {
            "description": "Invalid request: `{\"detail\"}` (organization selector, malformed body), a map of field errors, or a list of messages (`filter` errors, some login errors)",
            "content": {"application/vnd.cvat+json": {"schema": {"anyOf": [
                model("ErrorDetail"), model("FieldErrors"), model("ErrorList")
            ]}}}
        },
        "Unauthorized": unauthorized,
        "Forbidden": detail("Permission denied, not an active member of the selected organization, CSRF failure, or a read-only access token"),
        "NotFound": detail("No such object visible to the requester, or an invalid page"),
        "NotAcceptable": detail("The Accept header names no JSON media type, or an unsupported version"),
        "Conflict": detail("The change would leave the server without an active admin"),
        "PayloadTooLarge": detail("The request body is larger than 1 MiB"),
        "UnsupportedMediaType": detail("No parser for the request's Content-Type"),
        "TooManyRequests": throttled
    })
}

fn security_schemes() -> Value {
    json!({
        "tokenAuth": {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "Token authentication: `Authorization: Token <key>`, the key from /api/auth/login or /api/auth/register. The value must have the `Token ` prefix."
        },
        "accessTokenAuth": {
            "type": "http", "scheme": "bearer",
            "description": "A personal access token from /api/auth/access_tokens: `Authorization: Bearer <value>`."
        },
        "basicAuth": {"type": "http", "scheme": "basic"},
        "sessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
        "csrfAuth": {"type": "apiKey", "in": "cookie", "name": "csrftoken"},
        "csrfHeaderAuth": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
        "signatureAuth": {
            "type": "apiKey", "in": "query", "name": "sign",
            "description": "A signed URL from /api/auth/signing."
        }
    })
}

// --- models ----------------------------------------------------------------------------------------

/// The password reset request models (kept apart: `schemas()` is at `json!`'s recursion limit).
fn with_password_reset(mut schemas: Value) -> Value {
    let models = json!({
        "PasswordResetSerializerExRequest": {
            "type": "object",
            "required": ["email"],
            "properties": {"email": {"type": "string", "format": "email", "minLength": 1}}
        },
        "PasswordResetConfirmRequest": {
            "type": "object",
            "required": ["new_password1", "new_password2", "uid", "token"],
            "properties": {
                "new_password1": {"type": "string", "minLength": 1, "maxLength": 128},
                "new_password2": {"type": "string", "minLength": 1, "maxLength": 128},
                "uid": {"type": "string", "minLength": 1},
                "token": {"type": "string", "minLength": 1}
            }
        }
    });
    if let (Some(all), Value::Object(new)) = (schemas.as_object_mut(), models) {
        all.extend(new);
    }
    schemas
}

fn schemas() -> Value {
    let string = |max: u32| json!({"type": "string", "maxLength": max});
    let date_time = || json!({"type": "string", "format": "date-time", "readOnly": true});
    let nullable_date_time =
        || json!({"type": "string", "format": "date-time", "readOnly": true, "nullable": true});
    let read_only = |t: &str| json!({"type": t, "readOnly": true});
    let username_in = || {
        json!({"type": "string", "minLength": 1, "maxLength": 150, "pattern": "^[\\w.@+-]+$",
        "description": "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."})
    };
    let role =
        || json!({"type": "string", "enum": ["worker", "supervisor", "maintainer", "owner"]});
    let url = || json!({"type": "string", "format": "uri", "readOnly": true});
    let paginated = |item: &str| {
        json!({
            "type": "object",
            "required": ["count", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {"type": "string", "format": "uri", "nullable": true, "example": "http://api.example.org/accounts/?page=4"},
                "previous": {"type": "string", "format": "uri", "nullable": true, "example": "http://api.example.org/accounts/?page=2"},
                "results": {"type": "array", "items": model(item)}
            }
        })
    };
    json!({
        "User": {
            "type": "object",
            "description": "The full representation: for staff, and for anyone looking at himself.",
            "required": ["url", "id", "username", "first_name", "last_name", "email", "groups",
                         "is_staff", "is_superuser", "is_active", "last_login", "date_joined"],
            "properties": {
                "url": url(),
                "id": read_only("integer"),
                "username": string(150),
                "first_name": string(150),
                "last_name": string(150),
                "email": string(254),
                "groups": {"type": "array", "items": {"type": "string"}},
                "is_staff": {"type": "boolean", "description": "Designates whether the user can log into this admin site."},
                "is_superuser": {"type": "boolean", "description": "Designates that this user has all permissions without explicitly assigning them."},
                "is_active": {"type": "boolean", "description": "Designates whether this user should be treated as active."},
                "last_login": nullable_date_time(),
                "date_joined": date_time()
            }
        },
        "BasicUser": {
            "type": "object",
            "description": "What non-staff users see of other users.",
            "required": ["url", "id", "username", "first_name", "last_name"],
            "properties": {
                "url": url(),
                "id": read_only("integer"),
                "username": string(150),
                "first_name": string(150),
                "last_name": string(150)
            }
        },
        "MetaUser": {"anyOf": [model("BasicUser"), model("User")]},
        "PaginatedMetaUserList": paginated("MetaUser"),
        "PatchedUserRequest": {
            "type": "object",
            "example": {"first_name": "Jane", "last_name": "Doe"},
            "properties": {
                "username": username_in(),
                "first_name": string(150),
                "last_name": string(150),
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "groups": {"type": "array", "items": {"type": "string", "minLength": 1}},
                "is_staff": {"type": "boolean"},
                "is_superuser": {"type": "boolean"},
                "is_active": {"type": "boolean"}
            }
        },
        "UserCreateRequest": {
            "type": "object",
            "required": ["username", "password"],
            "example": {"username": "new_user", "email": "new_user@example.com", "password": "Str0ng-Secret-42",
                        "first_name": "New", "last_name": "User", "groups": ["user"]},
            "properties": {
                "username": {"type": "string", "minLength": 5, "maxLength": 150, "pattern": "^[\\w.@+-]+$"},
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "password": {"type": "string", "minLength": 8, "maxLength": 128},
                "first_name": string(150),
                "last_name": string(150),
                "groups": {"type": "array", "items": {"type": "string", "minLength": 1},
                           "description": "Default: [\"user\"], [\"admin\"] for a staff superuser, who always gets \"admin\"."},
                "is_staff": {"type": "boolean"},
                "is_superuser": {"type": "boolean"},
                "is_active": {"type": "boolean", "default": true}
            }
        },
        "UserPasswordRequest": {
            "type": "object",
            "required": ["password"],
            "properties": {"password": {"type": "string", "minLength": 8, "maxLength": 128}}
        },
        "About": {
            "type": "object",
            "required": ["name", "description", "version", "logo_url", "subtitle"],
            "properties": {
                "name": string(128),
                "description": string(2048),
                "version": string(64),
                "logo_url": {"type": "string"},
                "subtitle": string(1024)
            }
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string", "example": "ok"}}
        },
        "Token": {
            "type": "object",
            "required": ["key"],
            "properties": {"key": string(40)}
        },
        "LoginSerializerExRequest": {
            "type": "object",
            "example": {"username": "admin", "password": "your-password"},
            "required": ["password"],
            "properties": {
                "username": {"type": "string"},
                "email": {"type": "string", "format": "email"},
                "password": {"type": "string", "minLength": 1}
            }
        },
        "RegisterSerializerExRequest": {
            "type": "object",
            "example": {"username": "new_user", "email": "new_user@example.com", "password1": "Str0ng-Secret-42",
                        "password2": "Str0ng-Secret-42", "first_name": "New", "last_name": "User"},
            "required": ["username", "password1", "password2"],
            "properties": {
                "username": {"type": "string", "minLength": 5, "maxLength": 150, "pattern": "^[\\w.@+-]+$"},
                "email": {"type": "string", "format": "email", "maxLength": 254},
                "password1": {"type": "string", "minLength": 8, "maxLength": 128},
                "password2": {"type": "string", "minLength": 8, "maxLength": 128},
                "first_name": string(150),
                "last_name": string(150)
            }
        },
        "RegisterSerializerEx": {
            "type": "object",
            "required": ["username", "email", "first_name", "last_name", "email_verification_required", "key"],
            "properties": {
                "username": string(150),
                "email": string(254),
                "first_name": string(150),
                "last_name": string(150),
                "email_verification_required": read_only("boolean"),
                "key": {"type": "string", "readOnly": true, "nullable": true}
            }
        },
        "PasswordChangeRequest": {
            "type": "object",
            "required": ["old_password", "new_password1", "new_password2"],
            "properties": {
                "old_password": {"type": "string", "minLength": 1, "maxLength": 128},
                "new_password1": {"type": "string", "minLength": 8, "maxLength": 128},
                "new_password2": {"type": "string", "minLength": 8, "maxLength": 128}
            }
        },
        "RestAuthDetail": {
            "type": "object",
            "required": ["detail"],
            "properties": {"detail": read_only("string")}
        },
        "SigningRequest": {
            "type": "object",
            "example": {"url": "/api/users/self"},
            "required": ["url"],
            "properties": {"url": {"type": "string", "pattern": "^(/|[A-Za-z][A-Za-z0-9+.-]*://)",
                                   "description": "An absolute URL, or a path starting with /"}}
        },
        "AccessTokenRead": {
            "type": "object",
            "required": ["id", "name", "created_date", "updated_date", "expiry_date", "last_used_date", "read_only", "owner"],
            "properties": {
                "id": read_only("integer"),
                "name": string(50),
                "created_date": date_time(),
                "updated_date": date_time(),
                "expiry_date": {"type": "string", "format": "date-time", "nullable": true},
                "last_used_date": nullable_date_time(),
                "read_only": {"type": "boolean"},
                "owner": model("BasicUser"),
                "value": {"type": "string", "readOnly": true, "description": "The token itself: only in the answer to a create."}
            }
        },
        "PaginatedAccessTokenReadList": paginated("AccessTokenRead"),
        "AccessTokenWriteRequest": {
            "type": "object",
            "example": {"name": "my script", "read_only": true},
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 50},
                "expiry_date": {"type": "string", "format": "date-time", "nullable": true},
                "read_only": {"type": "boolean"}
            }
        },
        "PatchedAccessTokenWriteRequest": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 50},
                "expiry_date": {"type": "string", "format": "date-time", "nullable": true},
                "read_only": {"type": "boolean"}
            }
        },
        "OrganizationRead": {
            "type": "object",
            "required": ["id", "slug", "name", "description", "created_date", "updated_date", "contact", "owner"],
            "properties": {
                "id": read_only("integer"),
                "slug": {"type": "string", "maxLength": 16, "pattern": "^[-a-zA-Z0-9_]+$"},
                "name": string(64),
                "description": {"type": "string"},
                "created_date": date_time(),
                "updated_date": date_time(),
                "contact": {"type": "object", "additionalProperties": {}},
                "owner": nullable_model("BasicUser")
            }
        },
        "OrganizationWriteRequest": {
            "type": "object",
            "example": {"slug": "acme", "name": "ACME", "description": "", "contact": {"email": "team@acme.example"}},
            "required": ["slug"],
            "properties": {
                "slug": {"type": "string", "minLength": 1, "maxLength": 16, "pattern": "^[-a-zA-Z0-9_]+$"},
                "name": string(64),
                "description": {"type": "string"},
                "contact": {"type": "object", "additionalProperties": {}}
            }
        },
        "PatchedOrganizationWriteRequest": {
            "type": "object",
            "properties": {
                "slug": {"type": "string", "minLength": 1, "maxLength": 16, "pattern": "^[-a-zA-Z0-9_]+$"},
                "name": string(64),
                "description": {"type": "string"},
                "contact": {"type": "object", "additionalProperties": {}}
            }
        },
        "MembershipRead": {
            "type": "object",
            "required": ["id", "user", "organization", "is_active", "joined_date", "role", "invitation"],
            "properties": {
                "id": read_only("integer"),
                "user": model("BasicUser"),
                "organization": read_only("integer"),
                "is_active": read_only("boolean"),
                "joined_date": nullable_date_time(),
                "role": role(),
                "invitation": {"type": "string", "readOnly": true, "nullable": true}
            }
        },
        "PaginatedMembershipReadList": paginated("MembershipRead"),
        "PatchedMembershipWriteRequest": {
            "type": "object",
            "properties": {"role": role()}
        },
        "InvitationRead": {
            "type": "object",
            "required": ["key", "created_date", "owner", "role", "user", "organization"],
            "properties": {
                "key": read_only("string"),
                "created_date": date_time(),
                "owner": nullable_model("BasicUser"),
                "role": role(),
                "user": model("BasicUser"),
                "organization": read_only("integer")
            }
        },
        "PaginatedInvitationReadList": paginated("InvitationRead"),
        "InvitationWriteRequest": {
            "type": "object",
            "example": {"role": "worker", "email": "new_user@example.com"},
            "required": ["role", "email"],
            "properties": {
                "role": role(),
                "email": {"type": "string", "format": "email", "minLength": 1, "maxLength": 254}
            }
        },
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
        }
    })
}

// --- YAML -----------------------------------------------------------------------------------------

/// A small block-style YAML writer for the document: strings (and keys) are plain when they
/// cannot be read as anything else, else JSON-quoted (a valid YAML double-quoted scalar).
mod yaml {
    use serde_json::Value;

    pub fn write(v: &Value, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match v {
            Value::Object(map) if !map.is_empty() => {
                for (k, item) in map {
                    out.push_str(&pad);
                    out.push_str(&text(k));
                    out.push(':');
                    nested(item, indent + 2, out);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    // Render the item one level deeper, then put the dash in its first indent.
                    let mut inner = String::new();
                    if is_block(item) {
                        write(item, indent + 2, &mut inner);
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(&inner[indent + 2..]);
                    } else {
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(&scalar(item));
                        out.push('\n');
                    }
                }
            }
            other => {
                out.push_str(&pad);
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }

    fn nested(v: &Value, indent: usize, out: &mut String) {
        if is_block(v) {
            out.push('\n');
            write(v, indent, out);
        } else {
            out.push(' ');
            out.push_str(&scalar(v));
            out.push('\n');
        }
    }

    fn is_block(v: &Value) -> bool {
        match v {
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => false,
        }
    }

    fn scalar(v: &Value) -> String {
        match v {
            Value::Object(_) => "{}".into(),
            Value::Array(_) => "[]".into(),
            Value::String(s) => text(s),
            other => other.to_string(),
        }
    }

    /// Plain when it can only be read back as this string, else JSON-quoted.
    fn text(k: &str) -> String {
        let plain = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '/')
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-./{}".contains(c))
            && !matches!(
                k.to_ascii_lowercase().as_str(),
                "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
            );
        if plain {
            k.to_string()
        } else {
            Value::String(k.to_string()).to_string()
        }
    }
}
