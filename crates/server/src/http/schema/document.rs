//! The document's frame: `info`, `tags`, the paths from the operation lists, the models, the
//! shared error answers and the security schemes; and the `Op` builder the operation lists use,
//! with the parameters and error sets they share.

use serde_json::{json, Map, Value};

use super::{
    access_operations, audit_operations, mfa_operations, models, oidc_operations, operations,
    verification_operations,
};

pub(super) fn build() -> Value {
    let ops = [
        operations::users(),
        operations::auth(),
        operations::access_tokens(),
        mfa_operations::mfa(),
        oidc_operations::oidc(),
        verification_operations::verification(),
        access_operations::access(),
        access_operations::sessions(),
        audit_operations::audit(),
        operations::server(),
        operations::organizations(),
        operations::memberships(),
        operations::invitations(),
        operations::schema_ops(),
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
            "schemas": models::components(),
            "responses": error_responses(),
            "securitySchemes": security_schemes()
        },
        "tags": [
            {"name": "auth", "description": "Logging in and out, registration, passwords, signed URLs, personal access tokens"},
            {"name": "users", "description": "User accounts"},
            {"name": "organizations", "description": "Organizations"},
            {"name": "memberships", "description": "Organization memberships"},
            {"name": "invitations", "description": "Invitations to organizations: accepted at once or by the invitee, declined, resent"},
            {"name": "server", "description": "Server information and health"},
            {"name": "schema", "description": "This document"}
        ]
    })
}

/// Who may call an operation.
#[derive(Clone, Copy)]
pub(super) enum Access {
    /// Any credentials (401 without).
    Authenticated,
    /// Credentials are checked when sent, but none are needed.
    Optional,
    /// Credentials are ignored.
    Anonymous,
}

/// One operation of the document.
pub(super) struct Op {
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

pub(super) fn op(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
) -> Op {
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
    pub(super) fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }
    pub(super) fn params(mut self, params: impl IntoIterator<Item = Value>) -> Self {
        self.params.extend(params);
        self
    }
    /// A JSON request body of model `name` (`required` as in CVAT for POSTs).
    pub(super) fn json_body(mut self, name: &str, required: bool) -> Self {
        self.body = Some(json!({
            "content": {"application/json": {"schema": model(name)}},
            "required": required
        }));
        self
    }
    /// JSON, form and multipart request bodies of model `name` (what DRF's parsers take).
    pub(super) fn form_body(mut self, name: &str, required: bool) -> Self {
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
    pub(super) fn ok(self, status: u16, description: &str, schema: Value) -> Self {
        self.answer(
            status,
            json!({
                "description": description,
                "content": {"application/vnd.cvat+json": {"schema": schema}}
            }),
        )
    }
    /// An answer without a body.
    pub(super) fn empty(self, status: u16, description: &str) -> Self {
        self.answer(status, json!({ "description": description }))
    }
    pub(super) fn answer(mut self, status: u16, response: Value) -> Self {
        self.answers.push((status, response));
        self
    }
    pub(super) fn errors(mut self, codes: &[u16]) -> Self {
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

pub(super) fn model(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

// Error sets. Every authenticated operation can answer 401 (no or bad credentials), 400 (a bad
// organization selector), 403 (not a member of the selected organization, CSRF, read-only
// access token, or the policy), 406 (`Accept`) and 429 (Basic credentials of a locked account).
pub(super) const AUTHENTICATED: &[u16] = &[400, 401, 403, 406, 429];
/// Operations that read a request body: too large, or of a type no parser takes.
pub(super) const BODY: &[u16] = &[413, 415];
pub(super) const DETAIL: &[u16] = &[404];

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

pub(super) fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

pub(super) fn path_id(what: &str) -> Value {
    json!({
        "name": "id", "in": "path", "required": true, "schema": {"type": "integer"},
        "description": format!("A unique integer value identifying this {what}.")
    })
}

/// `org`, `org_id` and `X-Organization`: the organization a request works in (spec §3.2).
pub(super) fn org_params() -> Vec<Value> {
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

pub(super) fn page_params() -> Vec<Value> {
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

pub(super) fn user_list_params() -> Vec<Value> {
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

// --- shared error answers and security schemes ---------------------------------------------------

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
            "description": "Invalid request: `{\"detail\"}` (organization selector, malformed body), a map of field errors, or a list of messages (`filter` errors, some login errors), or a bare message (invitation actions)",
            "content": {"application/vnd.cvat+json": {"schema": {"anyOf": [
                model("ErrorDetail"), model("FieldErrors"), model("ErrorList"), model("ErrorMessage")
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
