//! The SCIM 2.0 service provider under `/scim/v2` (RFC 7643, RFC 7644; issue 17): identity
//! providers (Okta, Entra ID, JumpCloud, Keycloak) create, change and deprovision users.
//!
//! Its own world inside the server, so nothing of CVAT's leaks in or out: its own media type
//! (`application/scim+json`, `application/json` accepted too), its own error schema (every
//! failure, 401 and 404 included, is `urn:ietf:params:scim:api:messages:2.0:Error` with a string
//! `status` and a `scimType` where RFC 7644 §3.12 has one), and its own credential: only a SCIM
//! token (an access token an administrator created with `"scim": true`) authenticates here,
//! and such a token authenticates nowhere else (`auth::authenticate`). A request acts as the
//! token's owner, so every change passes the same service rules as the REST API's (the
//! last-admin guard, who may set which groups); deprovisioning lives in `service::scim`.
//!
//! `users.rs` serves `/Users` (its JSON in `user_json.rs`, PATCH in `patch.rs`),
//! `discovery.rs` the three discovery endpoints; the filter language is `crate::scim`.

mod discovery;
mod patch;
mod user_json;
mod users;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::auth;
use crate::error::ApiError;
use crate::service::{DomainError, OrgContext, Requester, USERNAME_TAKEN};
use crate::state::SharedState;

pub use crate::scim::{CVAT_USER_SCHEMA, USER_SCHEMA};

pub const SCIM_JSON: &str = "application/scim+json";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Request bodies larger than this get 413 (advertised as `bulk.maxPayloadSize`).
pub const MAX_BODY: usize = 1024 * 1024;
/// `count` is capped at this (advertised as `filter.maxResults`).
pub const MAX_RESULTS: i64 = 200;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/scim/v2/Users",
            get(users::list).post(users::create).fallback(not_allowed),
        )
        // The root search covers every resource type: Users is the only one.
        .route(
            "/scim/v2/.search",
            axum::routing::post(users::search).fallback(not_allowed),
        )
        .route(
            "/scim/v2/Users/.search",
            axum::routing::post(users::search).fallback(not_allowed),
        )
        .route(
            "/scim/v2/Users/{id}",
            get(users::retrieve)
                .put(users::replace)
                .patch(users::update)
                .delete(users::remove)
                .fallback(not_allowed),
        )
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(discovery::service_provider_config).fallback(not_allowed),
        )
        .route(
            "/scim/v2/ResourceTypes",
            get(discovery::resource_types).fallback(not_allowed),
        )
        .route(
            "/scim/v2/ResourceTypes/{id}",
            get(discovery::resource_type).fallback(not_allowed),
        )
        .route(
            "/scim/v2/Schemas",
            get(discovery::schemas).fallback(not_allowed),
        )
        .route(
            "/scim/v2/Schemas/{id}",
            get(discovery::schema).fallback(not_allowed),
        )
        .route("/scim/v2/Me", axum::routing::any(me))
        .route("/scim/v2/{*rest}", axum::routing::any(unknown))
}

/// A SCIM failure: RFC 7644 §3.12's body.
#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }
    fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(detail = %self.detail, "SCIM request failed");
        }
        let detail = match self.status.is_server_error() {
            true => "The server failed to handle the request.".to_string(),
            false => self.detail,
        };
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = t.into();
        }
        let mut response = scim_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        response
    }
}

/// CVAT field names as SCIM attribute names, for messages.
fn scim_attribute(field: &str) -> &str {
    match field {
        "username" => "userName",
        "first_name" => "name.givenName",
        "last_name" => "name.familyName",
        "email" => "emails",
        "is_active" => "active",
        "groups" => "privilege",
        other => other,
    }
}

impl From<DomainError> for ScimError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound | DomainError::Missing(_) => {
                Self::not_found("Resource not found.")
            }
            DomainError::Forbidden => Self::new(
                StatusCode::FORBIDDEN,
                None,
                "The SCIM token's owner may not do this (it must be an administrator).",
            ),
            // The last-admin guard and its kind: a rule about the stored data refuses.
            DomainError::Conflict(msg) => Self::new(StatusCode::CONFLICT, None, msg),
            DomainError::Invalid(fields) => {
                let taken = fields.iter().any(|(_, msgs)| {
                    msgs.iter()
                        .any(|m| m == USERNAME_TAKEN || m.contains("already exists"))
                });
                let text = fields
                    .iter()
                    .map(|(f, m)| format!("{}: {}", scim_attribute(f), m.join(" ")))
                    .collect::<Vec<_>>()
                    .join("; ");
                match taken {
                    true => Self::new(StatusCode::CONFLICT, Some("uniqueness"), text),
                    false => Self::bad("invalidValue", text),
                }
            }
            DomainError::Refused(msg) => Self::bad("invalidValue", msg),
            DomainError::RefusedText(msg) => Self::bad("invalidValue", msg),
            DomainError::Throttled { detail, .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, None, detail)
            }
            DomainError::Mfa(e) => Self::new(StatusCode::FORBIDDEN, None, e.to_string()),
            DomainError::Internal(e) => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, format!("{e:#}"))
            }
        }
    }
}

impl From<sqlx::Error> for ScimError {
    fn from(e: sqlx::Error) -> Self {
        DomainError::from(e).into()
    }
}

/// A JSON answer of SCIM's media type.
pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// The requester of every SCIM endpoint: the owner of a SCIM token (401 for anything else:
/// sessions, Basic, login tokens and ordinary access tokens), who must be an administrator
/// (403 otherwise: the token outlives a privilege its owner lost).
pub struct ScimRequester(pub Requester);

impl FromRequestParts<SharedState> for ScimRequester {
    type Rejection = ScimError;
    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ScimResult<Self> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_whitespace().next())
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer"));
        if !bearer {
            return Err(ScimError::unauthorized(
                "A SCIM token is required: Authorization: Bearer <token>.",
            ));
        }
        let identity = match auth::authenticate(state, parts).await {
            Ok(Some(identity)) => identity,
            Ok(None) => return Err(ScimError::unauthorized("A SCIM token is required.")),
            Err(ApiError::Unauthorized(msg)) => return Err(ScimError::unauthorized(msg)),
            Err(ApiError::Detail(status, msg)) => return Err(ScimError::new(status, None, msg)),
            Err(e) => {
                return Err(ScimError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    e.to_string(),
                ))
            }
        };
        if !identity.method.is_scim() {
            return Err(ScimError::unauthorized(
                "Only SCIM tokens are valid under /scim/v2; this access token is not one.",
            ));
        }
        let requester = Requester::new(identity, OrgContext::Sandbox);
        crate::service::users::ensure_admin(&requester)?;
        Ok(ScimRequester(requester))
    }
}

/// A request body: JSON as `application/scim+json` or `application/json`, at most `MAX_BODY`.
pub struct ScimBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for ScimBody {
    type Rejection = ScimError;
    async fn from_request(req: Request, _: &S) -> ScimResult<Self> {
        let media = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let too_large = || {
            ScimError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("tooLarge"),
                format!("The request body is larger than {MAX_BODY} bytes."),
            )
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            return Err(too_large());
        }
        if media != SCIM_JSON && media != "application/json" {
            return Err(ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("invalidSyntax"),
                "Send the body as application/scim+json (or application/json).",
            ));
        }
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| too_large())?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ScimError::bad("invalidSyntax", format!("The body is not JSON: {e}")))?;
        if !value.is_object() {
            return Err(ScimError::bad(
                "invalidSyntax",
                "The body must be a JSON object.",
            ));
        }
        Ok(ScimBody(value))
    }
}

/// `https://host/scim/v2`: the base of every `location`.
pub fn base_url(parts: &Parts) -> String {
    format!("{}/scim/v2", crate::request::origin(parts))
}

async fn not_allowed(method: axum::http::Method) -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        format!("{method} is not allowed here."),
    )
}

/// `/Me` (RFC 7644 §3.11) would be the user a SCIM token stands for; these tokens stand for
/// the provisioning client, not a user, so it is not implemented.
async fn me(_: ScimRequester) -> ScimError {
    ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "/Me is not implemented: a SCIM token stands for the provisioning client, not a user.",
    )
}

async fn unknown() -> ScimError {
    ScimError::not_found("No such SCIM endpoint.")
}
