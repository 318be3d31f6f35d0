//! `/api/users/{id}/access`, `.../block`, `.../unblock` and `DELETE .../login-lock`: an
//! administrator blocks an account or clears its login lock (`service::access`). Every route
//! answers the account's access afterwards.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Extension;
use axum::Router;
use cvat_proto::AccountAccess as AccessView;

use super::load_target;
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::http::extract::PathId;
use crate::http::views::datetime;
use crate::service::access::{self, AccessChange, AccountAccess};
use crate::service::{Requester, UserAccess};
use crate::state::SharedState;
use crate::store::UserRecord;

pub fn router() -> Router<SharedState> {
    let fallback = crate::http::method_not_allowed;
    let change = |c: AccessChange| Extension(c);
    Router::new()
        .route(
            "/api/users/{id}/access",
            get(handle)
                .fallback(fallback)
                .layer(change(AccessChange::Show)),
        )
        .route(
            "/api/users/{id}/block",
            post(handle)
                .fallback(fallback)
                .layer(change(AccessChange::Block)),
        )
        .route(
            "/api/users/{id}/unblock",
            post(handle)
                .fallback(fallback)
                .layer(change(AccessChange::Unblock)),
        )
        .route(
            "/api/users/{id}/login-lock",
            delete(handle)
                .fallback(fallback)
                .layer(change(AccessChange::ClearLock)),
        )
}

fn view(a: &AccountAccess) -> Response {
    let body = AccessView {
        blocked: a.blocked_date.is_some(),
        blocked_date: a.blocked_date.map(datetime),
        login_locked: a.login_locked_for.is_some(),
        login_retry_after: a.login_locked_for,
        must_change_password: a.must_change_password,
    };
    cvat_json(StatusCode::OK, &body)
}

/// Admins only: 403 before the lookup (as for `POST /api/users/{id}/password`), then 404.
async fn target(
    state: &SharedState,
    req: &Requester,
    id: Result<PathId, ApiError>,
    parts: &Parts,
) -> ApiResult<UserRecord> {
    if !req.is_admin() {
        return Err(crate::service::DomainError::Forbidden.into());
    }
    load_target(state, req, parts, id?, UserAccess::Administer).await
}

/// Every route: the lookup, then the change its `AccessChange` names.
async fn handle(
    State(state): State<SharedState>,
    Extension(change): Extension<AccessChange>,
    req: Requester,
    id: Result<PathId, ApiError>,
    parts: Parts,
) -> ApiResult<Response> {
    let user = target(&state, &req, id, &parts).await?;
    Ok(view(&access::apply(&state, &req, &user, change).await?))
}
