//! Organizations: the list, an organization's members with their roles, changing a role and
//! removing a member (with confirmation), through the API's own operations.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;

use super::{console, csrf_input, query, when, Console, PageResult};
use crate::error::ApiError;
use crate::http::extract::{py_int, PathId, RawBody};
use crate::http::memberships::parse_role;
use crate::service::{orgs, MembershipAccess, OrgId, OrgRole};
use crate::state::{AppState, SharedState};
use crate::store::{MembershipRecord, OrgRecord};
use crate::validate::FieldErrors;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/admin/organizations", get(list))
        .route("/admin/organizations/{id}", get(detail))
        .route(
            "/admin/organizations/{id}/mfa-policy",
            post(super::org_mfa::set_policy),
        )
        .route("/admin/memberships/{id}/role", post(change_role))
        .route(
            "/admin/memberships/{id}/delete",
            get(remove_page).post(remove),
        )
}

const MEMBERS_PER_PAGE: i64 = 50;

async fn list(State(state): State<SharedState>, parts: Parts) -> PageResult {
    let c = console(&state, &parts).await?;
    let search = query(&parts, "search").unwrap_or_default();
    let found = orgs::visible(&state.db, &c.req, Some(&search))
        .await
        .map_err(|e| c.error(&parts, e))?;
    let body = html! {
        div.heading { h1 { "Organizations" } }
        form.filters method="get" action="/admin/organizations" role="search" {
            label { "Search"
                input type="search" name="search" value=(search) placeholder="name or owner" #search; }
            button type="submit" { "Apply" }
            a.button.secondary href="/admin/organizations" { "Reset" }
        }
        div.table-wrap {
            table #organizations {
                thead { tr { th { "ID" } th { "Slug" } th { "Name" } th { "Owner" } th { "Created" } } }
                tbody {
                    @if found.is_empty() { tr { td colspan="5" .muted { "No organizations." } } }
                    @for o in &found {
                        tr data-org=(o.slug) {
                            td.num { (o.id) }
                            td { a href=(format!("/admin/organizations/{}", o.id)) { (o.slug) } }
                            td { (o.name) }
                            td { @match &o.owner {
                                Some(u) => a href=(format!("/admin/users/{}", u.id)) { (u.username) },
                                None => span.muted { "none" },
                            } }
                            td.num { (when(Some(o.created_date))) }
                        }
                    }
                }
            }
        }
        p.muted { (found.len()) " organizations" }
    };
    Ok(c.page(&parts, StatusCode::OK, "Organizations", body))
}

async fn load_org(
    state: &AppState,
    c: &Console,
    parts: &Parts,
    id: OrgId,
) -> Result<OrgRecord, Response> {
    orgs::find(&state.db, &c.req, id)
        .await
        .map_err(|e| c.error(parts, e))
}

async fn render_org(
    state: &AppState,
    c: &Console,
    parts: &Parts,
    org: &OrgRecord,
    status: StatusCode,
    failed: Option<(i64, FieldErrors)>,
) -> PageResult {
    let fail = |e: ApiError| c.error(parts, e);
    // The member list of `GET /api/memberships?org_id=N`, as this requester would get it.
    let in_org = orgs::in_org(&state.db, &c.req, org.id)
        .await
        .map_err(|e| c.error(parts, e))?;
    let scope = orgs::membership_scope(&in_org);
    let count = state
        .db
        .count_memberships(scope, &Default::default())
        .await
        .map_err(|e| fail(e.into()))?;
    let pages = ((count + MEMBERS_PER_PAGE - 1) / MEMBERS_PER_PAGE).max(1);
    let page = query(parts, "page")
        .and_then(|v| py_int(&v))
        .unwrap_or(1)
        .clamp(1, pages);
    let members = state
        .db
        .list_memberships(
            scope,
            &Default::default(),
            (page - 1) * MEMBERS_PER_PAGE,
            MEMBERS_PER_PAGE,
        )
        .await
        .map_err(|e| fail(e.into()))?;
    let policy = orgs::mfa_policy(&state.db, &c.req, org.id)
        .await
        .map_err(|e| c.error(parts, e))?;
    let flash = match query(parts, "done").as_deref() {
        Some("role") => Some("The role has been changed."),
        Some("removed") => Some("The member has been removed."),
        Some("mfa") => Some("The second-factor policy has been saved."),
        _ => None,
    };
    let body = html! {
        div.heading {
            div {
                h1 #org-title { (org.name) }
                p.sub { "Organization " (org.id) " · slug " code { (org.slug) } }
            }
            span.spacer {}
            a.button.secondary href="/admin/organizations" { "All organizations" }
        }
        @if let Some(m) = flash { p.msg.ok #flash { (m) } }
        div.card {
            dl.facts {
                dt { "Owner" } dd { @match &org.owner {
                    Some(u) => a href=(format!("/admin/users/{}", u.id)) { (u.username) },
                    None => span.muted { "none" },
                } }
                dt { "Created" } dd { (when(Some(org.created_date))) " UTC" }
                dt { "Description" } dd { @if org.description.is_empty() { span.muted { "none" } } @else { (org.description) } }
            }
        }
        (super::org_mfa::policy_card(c, org.id, &policy))
        h2 { "Members (" (count) ")" }
        div.table-wrap {
            table #members {
                thead { tr { th { "User" } th { "Role" } th { "Active" } th { "Joined" } th { "" } } }
                tbody {
                    @if members.is_empty() { tr { td colspan="5" .muted { "No members." } } }
                    @for m in &members {
                        @let errors = failed.as_ref().filter(|(id, _)| *id == m.id).map(|(_, e)| e.clone()).unwrap_or_default();
                        tr data-member=(m.user.username) {
                            td { a href=(format!("/admin/users/{}", m.user.id)) { (m.user.username) }
                                @if !(m.user.first_name.is_empty() && m.user.last_name.is_empty()) {
                                    " " span.muted { (m.user.first_name) " " (m.user.last_name) } } }
                            td {
                                form.inline method="post" action=(format!("/admin/memberships/{}/role", m.id)) {
                                    (csrf_input(&c.csrf))
                                    select name="role" aria-label=(format!("Role of {}", m.user.username)) {
                                        @for r in OrgRole::ALL { option value=(r.as_str()) selected[m.role == r] { (r.as_str()) } }
                                    }
                                    button.secondary type="submit" { "Change" }
                                }
                                @for (_, msgs) in &errors { @for e in msgs { p.error { (e) } } }
                            }
                            td { @if m.is_active { span.badge.on { "yes" } } @else { span.badge.off { "pending" } } }
                            td.num { (when(m.joined_date)) }
                            td { a href=(format!("/admin/memberships/{}/delete", m.id)) { "Remove…" } }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager {
                @for n in 1..=pages {
                    @if n == page { span.page.current { (n) } }
                    @else { a href=(format!("/admin/organizations/{}?page={n}", org.id)) { (n) } }
                }
            }
        }
    };
    Ok(c.page(parts, status, &org.name, body))
}

async fn detail(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
) -> PageResult {
    let c = console(&state, &parts).await?;
    let id = OrgId(c.id(&parts, id)?);
    let org = load_org(&state, &c, &parts, id).await?;
    render_org(&state, &c, &parts, &org, StatusCode::OK, None).await
}

async fn load_membership(
    state: &AppState,
    c: &Console,
    parts: &Parts,
    id: Result<PathId, ApiError>,
) -> Result<MembershipRecord, Response> {
    let id = c.id(parts, id)?;
    orgs::find_membership(&state.db, &c.req, id, MembershipAccess::Remove)
        .await
        .map_err(|e| c.error(parts, e))
}

fn back_to_org(m: &MembershipRecord, done: &str) -> Response {
    Redirect::to(&format!(
        "/admin/organizations/{}?done={done}",
        m.organization_id
    ))
    .into_response()
}

async fn change_role(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let c = console(&state, &parts).await?;
    let form = c.form(&parts, body).await?;
    let m = load_membership(&state, &c, &parts, id).await?;
    let result = match parse_role(&form) {
        Ok(role) => orgs::change_role(&state.db, &c.req, &m, role).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(m) => Ok(back_to_org(&m, "role")),
        Err(e) => {
            let (status, errors) = c.form_failure(&parts, e)?;
            let org = load_org(&state, &c, &parts, m.organization_id).await?;
            render_org(&state, &c, &parts, &org, status, Some((m.id, errors))).await
        }
    }
}

fn remove_confirmation(
    c: &Console,
    parts: &Parts,
    m: &MembershipRecord,
    org: &OrgRecord,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let body = html! {
        div.card.danger #confirm-remove {
            h1 { "Remove " (m.user.username) " from " (org.name) "?" }
            (super::form_errors(errors, &[]))
            p { strong { (m.user.username) } " (" (m.role) ") loses access to the organization " strong { (org.slug) } "." }
            form.actions method="post" action=(format!("/admin/memberships/{}/delete", m.id)) {
                (csrf_input(&c.csrf))
                button.danger type="submit" #confirm { "Yes, remove " (m.user.username) }
                a.button.secondary href=(format!("/admin/organizations/{}", org.id)) { "Cancel" }
            }
        }
    };
    c.page(parts, status, "Remove member", body)
}

async fn remove_page(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
) -> PageResult {
    let c = console(&state, &parts).await?;
    let m = load_membership(&state, &c, &parts, id).await?;
    let org = load_org(&state, &c, &parts, m.organization_id).await?;
    Ok(remove_confirmation(
        &c,
        &parts,
        &m,
        &org,
        &Vec::new(),
        StatusCode::OK,
    ))
}

async fn remove(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let c = console(&state, &parts).await?;
    c.form(&parts, body).await?;
    let m = load_membership(&state, &c, &parts, id).await?;
    match orgs::remove_membership(&state.db, &c.req, &m).await {
        Ok(()) => Ok(back_to_org(&m, "removed")),
        Err(e) => {
            let (status, errors) = c.form_failure(&parts, e)?;
            let org = load_org(&state, &c, &parts, m.organization_id).await?;
            Ok(remove_confirmation(&c, &parts, &m, &org, &errors, status))
        }
    }
}
