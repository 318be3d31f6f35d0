//! `GET /api/schema/`: the OpenAPI 3.0 document of every route the API serves, with CVAT's
//! operation ids and model names; and Swagger UI at `/api/docs/`, served from files embedded in
//! the binary (`assets/swagger-ui/`, no CDN).
//!
//! The document is built once: `operations.rs` lists each resource's operations (paths, ids,
//! parameters, answers), `models.rs` takes the models from the `cvat-proto` wire types (their
//! derived OpenAPI schemas, turned into OpenAPI 3.0), `document.rs` puts them together with the
//! shared error answers and security schemes. `tests/api/schema.rs` checks it against the router (every route documented, nothing
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
use serde_json::Value;

use super::links;
use crate::error::ApiError;
use crate::state::SharedState;

mod access_operations;
mod audit_operations;
mod document;
mod mfa_operations;
mod models;
mod oidc_operations;
mod operations;
mod verification_operations;
mod yaml;

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
    DOC.get_or_init(document::build)
}

fn rendered_json() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| serde_json::to_string(document()).unwrap_or_else(|_| "{}".into()))
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
    pub const INDEX: &str = include_str!("../../../assets/swagger-ui/index.html");
    pub const CSS: &[u8] = include_bytes!("../../../assets/swagger-ui/swagger-ui.css");
    pub const BUNDLE: &[u8] = include_bytes!("../../../assets/swagger-ui/swagger-ui-bundle.js");
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
