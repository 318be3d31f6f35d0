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

use super::administered_user;
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::http::extract::PathId;
use crate::http::views::datetime;
use crate::service::access::{self, AccessChange, AccountAccess};
use crate::service::Requester;
use crate::state::SharedState;

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

/// Every route: the lookup, then the change its `AccessChange` names.
async fn handle(
    State(state): State<SharedState>,
    Extension(change): Extension<AccessChange>,
    req: Requester,
    id: Result<PathId, ApiError>,
    parts: Parts,
) -> ApiResult<Response> {
    let user = administered_user(&state, &req, id, &parts).await?;
    Ok(view(&access::apply(&state, &req, &user, change).await?))
}
