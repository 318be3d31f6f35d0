//! The one error type of the server and its mapping to CVAT's response shapes (spec §1.2);
//! the domain's failures (`DomainError`) become these shapes here and nowhere else.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::service::mfa::MfaError;
use crate::service::DomainError;

pub const CVAT_JSON: &str = "application/vnd.cvat+json";

/// DRF's message for a refused permission.
pub const NO_PERMISSION: &str = "You do not have permission to perform this action.";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `{"detail": "..."}` with any status.
    #[error("{1}")]
    Detail(StatusCode, String),
    /// 401 with `WWW-Authenticate: Token`, as DRF answers for the first authentication class.
    #[error("{0}")]
    Unauthorized(String),
    /// 400 serializer errors: `{"field": ["msg", ...], ...}` in field order.
    #[error("validation failed")]
    Fields(Vec<(String, Vec<String>)>),
    /// 400 with a top-level JSON array, e.g. `["filter: Json syntax should be used"]`.
    #[error("{0:?}")]
    List(Vec<String>),
    /// 400 with a bare JSON string body, e.g. `"Your invitation is already accepted."`.
    #[error("{0}")]
    Text(String),
    /// 429 with `Retry-After`.
    #[error("{detail}")]
    Throttled { detail: String, retry_after: u64 },
    /// `{"detail", "code", ...}` of the second factor's refusals (spec §4.1): 401s carry
    /// `WWW-Authenticate: Token`, 429s `Retry-After`, all `Cache-Control: no-store`.
    #[error("{code}")]
    Coded {
        status: StatusCode,
        code: &'static str,
        body: Map<String, Value>,
        headers: Vec<(&'static str, String)>,
    },
    /// Django's HTML 404 page for paths that match no route.
    #[error("no route")]
    NoRoute,
    /// Anything unexpected: logged in full, answered without its text.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn detail(status: StatusCode, msg: impl Into<String>) -> Self {
        ApiError::Detail(status, msg.into())
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::detail(StatusCode::BAD_REQUEST, msg)
    }
    pub fn forbidden() -> Self {
        Self::detail(StatusCode::FORBIDDEN, NO_PERMISSION)
    }
    pub fn not_found() -> Self {
        Self::detail(StatusCode::NOT_FOUND, "Not found.")
    }
    pub fn not_authenticated() -> Self {
        ApiError::Unauthorized("Authentication credentials were not provided.".into())
    }
    pub fn method_not_allowed(method: &str) -> Self {
        Self::detail(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method \"{method}\" not allowed."),
        )
    }
    pub fn field(name: &str, msg: impl Into<String>) -> Self {
        ApiError::Fields(vec![(name.to_string(), vec![msg.into()])])
    }
    pub fn non_field(msg: impl Into<String>) -> Self {
        Self::field("non_field_errors", msg)
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::detail(StatusCode::CONFLICT, msg)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => ApiError::not_found(),
            DomainError::Forbidden => ApiError::forbidden(),
            DomainError::Conflict(msg) => ApiError::conflict(msg),
            DomainError::Invalid(fields) => ApiError::Fields(fields),
            DomainError::Refused(msg) => ApiError::List(vec![msg]),
            DomainError::Missing(msg) => ApiError::detail(StatusCode::NOT_FOUND, msg),
            DomainError::RefusedText(msg) => ApiError::Text(msg.into()),
            DomainError::Throttled {
                detail,
                retry_after,
            } => ApiError::Throttled {
                detail,
                retry_after,
            },
            DomainError::Mfa(e) => mfa_error(e),
            DomainError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// A second-factor refusal as the contract answers it (§4.1, §4.3, §4.5).
fn mfa_error(e: MfaError) -> ApiError {
    let mut body = Map::new();
    body.insert("detail".into(), e.to_string().into());
    body.insert("code".into(), e.code().into());
    let mut headers = Vec::new();
    let status = match &e {
        MfaError::Required { ticket, expires_in } => {
            body.insert("mfa_token".into(), ticket.clone().into());
            body.insert("mfa_methods".into(), json!(["totp", "recovery_code"]));
            body.insert("expires_in".into(), (*expires_in).into());
            StatusCode::UNAUTHORIZED
        }
        MfaError::BasicRequired => {
            headers.push(("x-cvat-otp", "required; totp".to_string()));
            StatusCode::UNAUTHORIZED
        }
        MfaError::CodeInvalid { basic: true } | MfaError::TicketInvalid => StatusCode::UNAUTHORIZED,
        MfaError::CodeInvalid { basic: false }
        | MfaError::PasswordInvalid
        | MfaError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
        MfaError::Locked { retry_after } => {
            headers.push(("retry-after", retry_after.to_string()));
            StatusCode::TOO_MANY_REQUESTS
        }
        MfaError::AlreadyEnabled | MfaError::NotEnabled | MfaError::SetupMissing => {
            StatusCode::CONFLICT
        }
        MfaError::AccessTokenNotAllowed
        | MfaError::EnrollmentRequired
        | MfaError::RequiredByOrganization => StatusCode::FORBIDDEN,
    };
    ApiError::Coded {
        status,
        code: e.code(),
        body,
        headers,
    }
}

/// A JSON response with CVAT's media type.
pub fn cvat_json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(bytes) => bytes,
        // Only a map with non-string keys fails; none of our wire types has one.
        Err(e) => {
            tracing::error!(error = %e, "response body did not serialize");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CVAT_JSON))],
        bytes,
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Detail(status, msg) => cvat_json(status, &json!({ "detail": msg })),
            ApiError::Unauthorized(msg) => {
                let mut r = cvat_json(StatusCode::UNAUTHORIZED, &json!({ "detail": msg }));
                r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
                r
            }
            ApiError::Fields(fields) => {
                let mut map = Map::new();
                for (name, msgs) in fields {
                    map.insert(name, Value::from(msgs));
                }
                cvat_json(StatusCode::BAD_REQUEST, &Value::Object(map))
            }
            ApiError::List(msgs) => cvat_json(StatusCode::BAD_REQUEST, &msgs),
            ApiError::Text(msg) => cvat_json(StatusCode::BAD_REQUEST, &msg),
            ApiError::Throttled { detail, retry_after } => {
                let mut r = cvat_json(StatusCode::TOO_MANY_REQUESTS, &json!({ "detail": detail }));
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                r
            }
            ApiError::Coded {
                status,
                body,
                headers,
                ..
            } => {
                let mut r = cvat_json(status, &Value::Object(body));
                let h = r.headers_mut();
                if status == StatusCode::UNAUTHORIZED {
                    h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
                }
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                for (name, value) in headers {
                    if let Ok(value) = HeaderValue::from_str(&value) {
                        h.insert(name, value);
                    }
                }
                r
            }
            ApiError::NoRoute => (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n",
            )
                .into_response(),
            ApiError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                cvat_json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({ "detail": "A server error occurred." }),
                )
            }
        }
    }
}
