//! Our extractors: every rejection comes out in CVAT's shapes, never axum's defaults.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde_json::{Map, Value};

use super::links;
use crate::auth::{self, Identity};
use crate::error::{ApiError, ApiResult};
use crate::service::mfa::{policy, MfaError};
use crate::service::{access, DomainError, OrgContext, OrgId, Requester, UserId};
use crate::state::SharedState;

/// Request bodies larger than this get 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The requester if any credentials were sent and valid (AllowAny endpoints).
pub struct MaybeIdentity(pub Option<Identity>);

impl FromRequestParts<SharedState> for MaybeIdentity {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Self> {
        Ok(MaybeIdentity(auth::authenticate(state, parts).await?))
    }
}

/// An authenticated requester in a valid organization context (401, 400, 403 otherwise).
impl FromRequestParts<SharedState> for Requester {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Self> {
        let identity = auth::authenticate(state, parts)
            .await?
            .ok_or_else(ApiError::not_authenticated)?;
        if identity.user.must_change_password && !access::may_pass_before_new_password(parts) {
            return Err(ApiError::detail(
                StatusCode::FORBIDDEN,
                access::MUST_CHANGE_PASSWORD,
            ));
        }
        if let Some(deadline) = state.mfa.policy.deadline(&identity.user) {
            if crate::store::now_micros() > deadline && !policy::may_pass_before_enrolment(parts) {
                return Err(DomainError::from(MfaError::EnrollmentRequired).into());
            }
        }
        let org = org_context(state, parts, &identity.user).await?;
        let requester =
            Requester::new(identity, org).with_origin(crate::request::audit_origin(parts));
        if !requester.passes_org_gate() {
            return Err(ApiError::detail(
                StatusCode::FORBIDDEN,
                "You should be an active member in the organization.",
            ));
        }
        Ok(requester)
    }
}

/// The `{id}` segment of a detail route. Not an integer: CVAT's 404. Put it after the
/// `Requester`, so that authentication (401) comes first; take `Result<PathId, ApiError>` where
/// a permission check must answer before the lookup.
#[derive(Debug, Clone, Copy)]
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        params
            .iter()
            .find(|(name, _)| *name == "id")
            .and_then(|(_, raw)| raw.parse().ok())
            .map(PathId)
            .ok_or_else(ApiError::not_found)
    }
}

/// Python's `int()` on a string.
pub use crate::pycompat::py_int;

/// Organization selection from `org`, `org_id` and `X-Organization` (spec §3.2, decision 2).
async fn org_context(
    state: &SharedState,
    parts: &Parts,
    user: &crate::store::UserRecord,
) -> ApiResult<OrgContext> {
    let user_id = user.id;
    let org = links::query_value(parts, "org");
    let org_id = links::query_value(parts, "org_id");
    let header = match parts.headers.get("x-organization") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    ApiError::bad_request("The \"X-Organization\" HTTP header is not valid text.")
                })?
                .trim()
                .to_string(),
        ),
        None => None,
    };
    // An empty header is no header when a query parameter selects the organization (spec
    // decision 2; the newest SDK sends `X-Organization:` empty on every request).
    let header = header.filter(|h| !h.is_empty() || (org.is_none() && org_id.is_none()));
    if org_id.is_some() && (org.is_some() || header.is_some()) {
        return Err(ApiError::bad_request(
            "You cannot specify \"org_id\" query parameter with \"org\" query parameter or \"X-Organization\" HTTP header at the same time.",
        ));
    }
    if let (Some(o), Some(h)) = (&org, &header) {
        if o != h {
            return Err(ApiError::bad_request(
                "You cannot specify \"org\" query parameter and \"X-Organization\" HTTP header with different values.",
            ));
        }
    }
    let found =
        if let Some(slug) = org.or(header) {
            if slug.is_empty() {
                return Ok(OrgContext::Personal);
            }
            state.db.org_by_slug(&slug).await?.ok_or_else(|| {
                ApiError::bad_request(format!("{slug} organization does not exist."))
            })?
        } else {
            match org_id.as_deref() {
                None | Some("") => return Ok(OrgContext::Sandbox),
                Some(raw) => {
                    let id = py_int(raw).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "Invalid \"org_id\" query parameter: \"{raw}\" is not an integer."
                        ))
                    })?;
                    state.db.org_by_id(id).await?.ok_or_else(|| {
                        ApiError::bad_request(format!("{id} organization does not exist."))
                    })?
                }
            }
        };
    let org = OrgId(found.id);
    let role = state.db.active_role(UserId(user_id), org).await?;
    // The organization's second-factor policy: only a member without TOTP costs a statement.
    if let (Some(since), Some(_), false) = (found.mfa_required_since, role, user.mfa_enabled) {
        if !policy::may_pass_org_gate(parts) {
            let joined = state.db.membership_joined(UserId(user_id), org).await?;
            let deadline = policy::org_deadline(since, found.mfa_grace_period_hours, joined);
            if crate::store::now_micros() > deadline {
                return Err(DomainError::from(MfaError::RequiredByOrganization).into());
            }
        }
    }
    Ok(OrgContext::Org { id: org, role })
}

/// The body, not yet parsed: handlers parse it after the lookup and permission checks, so
/// that 404 and 403 come before 400 and 415 as in CVAT (spec §1.1).
pub struct RawBody {
    content_type: Option<String>,
    bytes: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, _: &S) -> ApiResult<Self> {
        let too_large = || {
            ApiError::detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body is larger than 1 MiB.",
            )
        };
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).to_string());
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
            return Err(too_large());
        }
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| too_large())?;
        Ok(RawBody {
            content_type,
            bytes,
        })
    }
}

pub(crate) fn python_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

impl RawBody {
    /// DRF's parsers: JSON, form, multipart (and TUS as empty). An empty body is `{}`.
    pub async fn parse(self) -> ApiResult<Value> {
        if self.bytes.is_empty() {
            return Ok(Value::Object(Map::new()));
        }
        // DRF reads a missing Content-Type as "", which no parser accepts.
        let content_type = self.content_type.unwrap_or_default();
        let media = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json" => serde_json::from_slice(&self.bytes)
                .map_err(|e| ApiError::bad_request(format!("JSON parse error - {e}"))),
            "application/x-www-form-urlencoded" => Ok(form_object(links::parse_query(
                &String::from_utf8_lossy(&self.bytes),
            ))),
            "multipart/form-data" => parse_multipart(&content_type, self.bytes).await,
            "application/offset+octet-stream" => Ok(Value::Object(Map::new())),
            _ => Err(ApiError::detail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Unsupported media type \"{content_type}\" in request."),
            )),
        }
    }

    /// Parses and requires a JSON object (DRF serializers' "Invalid data" errors otherwise).
    pub async fn parse_object(self) -> ApiResult<Map<String, Value>> {
        match self.parse().await? {
            Value::Object(map) => Ok(map),
            Value::Null => Err(ApiError::non_field("No data provided")),
            other => Err(ApiError::non_field(format!(
                "Invalid data. Expected a dictionary, but got {}.",
                python_type_name(&other)
            ))),
        }
    }
}

/// Form fields as JSON: one value per key, except `groups`, which is a list as in DRF.
fn form_object(pairs: Vec<(String, String)>) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        if k == "groups" {
            let entry = map.entry(k).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = entry {
                items.push(Value::String(v));
            }
        } else {
            map.insert(k, Value::String(v));
        }
    }
    Value::Object(map)
}

async fn parse_multipart(content_type: &str, bytes: Bytes) -> ApiResult<Value> {
    let bad = |e: multer::Error| ApiError::bad_request(format!("Multipart form parse error - {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(bad)?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(bytes) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut pairs = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if field.file_name().is_some() {
            continue;
        }
        let text = field.text().await.map_err(bad)?;
        pairs.push((name, text));
    }
    Ok(form_object(pairs))
}
