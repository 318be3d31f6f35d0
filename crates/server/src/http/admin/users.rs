//! Users: the table (search, sort by any column, paging, filters); the user page and "new
//! user" are in `user_page`.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use maud::html;

use super::user_mfa;
use super::user_page as page;
use super::user_sessions;
use super::user_status as status;
use super::{console, error_page, query, when, PageResult};
use crate::error::ApiError;
use crate::http::extract::py_int;
use crate::http::users::parse;
use crate::service::{users, SystemRole};
use crate::state::SharedState;
use crate::store::{UserColumn, UserRecord};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/admin/users", get(list))
        .route("/admin/users/new", get(page::new_page).post(page::create))
        .route("/admin/users/{id}", get(page::detail).post(page::update))
        .route("/admin/users/{id}/active", post(status::set_active))
        .route("/admin/users/{id}/access", post(status::set_access))
        .route("/admin/users/{id}/sessions", post(user_sessions::revoke))
        .route("/admin/users/{id}/mfa", post(user_mfa::reset))
        .route("/admin/users/{id}/password", post(page::password))
        .route(
            "/admin/users/{id}/delete",
            get(page::delete_page).post(page::delete),
        )
}

const PAGE_SIZES: [i64; 4] = [10, 20, 50, 100];
const DEFAULT_PAGE_SIZE: i64 = 20;

/// The table's state, read from the query and written back into every link.
#[derive(Clone)]
struct ListParams {
    search: String,
    active: String,
    group: String,
    sort: String,
    page: i64,
    page_size: i64,
}

impl ListParams {
    fn from(parts: &Parts) -> ListParams {
        let page_size = query(parts, "page_size")
            .and_then(|v| py_int(&v))
            .filter(|n| PAGE_SIZES.contains(n))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let sort = query(parts, "sort")
            .filter(|s| UserColumn::parse(s).is_some())
            .unwrap_or_else(|| "-id".into());
        ListParams {
            search: query(parts, "search").unwrap_or_default(),
            active: query(parts, "is_active")
                .filter(|v| v == "true" || v == "false")
                .unwrap_or_default(),
            group: query(parts, "group").unwrap_or_default(),
            sort,
            page: query(parts, "page")
                .and_then(|v| py_int(&v))
                .unwrap_or(1)
                .max(1),
            page_size,
        }
    }

    fn url(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("search", self.search.as_str()),
            ("is_active", self.active.as_str()),
            ("group", self.group.as_str()),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if self.sort != "-id" {
            q.append_pair("sort", &self.sort);
        }
        if self.page_size != DEFAULT_PAGE_SIZE {
            q.append_pair("page_size", &self.page_size.to_string());
        }
        if self.page != 1 {
            q.append_pair("page", &self.page.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            "/admin/users".into()
        } else {
            format!("/admin/users?{q}")
        }
    }

    fn with_page(&self, page: i64) -> String {
        ListParams {
            page,
            ..self.clone()
        }
        .url()
    }

    /// The link of a column header: ascending first, descending when already ascending.
    fn sort_link(&self, col: UserColumn) -> (String, Option<&'static str>) {
        let current = UserColumn::parse(&self.sort);
        let (next, mark) = match current {
            Some((c, false)) if c == col => (format!("-{}", col.name()), Some("▲")),
            Some((c, true)) if c == col => (col.name().to_string(), Some("▼")),
            _ => (col.name().to_string(), None),
        };
        let url = ListParams {
            sort: next,
            page: 1,
            ..self.clone()
        }
        .url();
        (url, mark)
    }
}

pub(super) fn flash(parts: &Parts) -> Option<String> {
    let name = query(parts, "name").unwrap_or_default();
    Some(match query(parts, "done")?.as_str() {
        "created" => "The user has been created.".into(),
        "saved" => "The changes have been saved.".into(),
        "activated" => "The user has been activated.".into(),
        "deactivated" => "The user has been deactivated.".into(),
        "verified" => "The e-mail address is marked confirmed.".into(),
        "block" => "The account is blocked: none of its credentials works.".into(),
        "unblock" => "The account is unblocked.".into(),
        "unlock" => "The login lock is cleared.".into(),
        "revoked" => "Revoked: those credentials no longer work.".into(),
        "mfa-reset" => {
            "The second factor is reset; the user is signed out and told by mail.".into()
        }
        "password" => users::PASSWORD_SET.into(),
        "deleted" => format!("The user {name} has been deleted."),
        _ => return None,
    })
}

async fn list(State(state): State<SharedState>, parts: Parts) -> PageResult {
    let c = console(&state, &parts).await?;
    let p = ListParams::from(&parts);
    let fail = |e: ApiError| error_page(Some(&c), &parts, e);
    // The API's visibility, search and `is_active` rules; the group filter and the sort
    // columns are the console's own additions.
    let mut q = c.req.list_scope();
    let pairs = vec![
        ("search".to_string(), p.search.clone()),
        ("is_active".to_string(), p.active.clone()),
    ];
    parse::apply_query_pairs(&pairs, &mut q).map_err(fail)?;
    let groups = state.db.group_names().await.map_err(|e| fail(e.into()))?;
    let group = groups.iter().find(|g| **g == p.group).map(String::as_str);
    let count = state
        .db
        .admin_count_users(&q, group)
        .await
        .map_err(|e| fail(e.into()))?;
    let pages = ((count + p.page_size - 1) / p.page_size).max(1);
    let page = p.page.min(pages);
    let p = ListParams { page, ..p };
    let sort = UserColumn::parse(&p.sort).unwrap_or((UserColumn::Id, true));
    let users = state
        .db
        .admin_list_users(&q, group, sort, (page - 1) * p.page_size, p.page_size)
        .await
        .map_err(|e| fail(e.into()))?;

    let columns = [
        (UserColumn::Id, "ID"),
        (UserColumn::Username, "Username"),
        (UserColumn::FirstName, "First name"),
        (UserColumn::LastName, "Last name"),
        (UserColumn::Email, "E-mail"),
        (UserColumn::Groups, "Groups"),
        (UserColumn::IsStaff, "Staff"),
        (UserColumn::IsActive, "Active"),
        (UserColumn::LastLogin, "Last login"),
        (UserColumn::DateJoined, "Joined"),
    ];
    let body = html! {
        div.heading {
            h1 { "Users" }
            span.spacer {}
            a.button href="/admin/users/new" #new-user { "New user" }
        }
        @if let Some(m) = flash(&parts) { p.msg.ok #flash { (m) } }
        form.filters method="get" action="/admin/users" role="search" {
            label { "Search"
                input type="search" name="search" value=(p.search) placeholder="username or name" #search; }
            label { "Status"
                select name="is_active" #filter-active {
                    option value="" selected[p.active.is_empty()] { "Active and inactive" }
                    option value="true" selected[p.active == "true"] { "Active only" }
                    option value="false" selected[p.active == "false"] { "Inactive only" }
                }
            }
            label { "Group"
                select name="group" #filter-group {
                    option value="" selected[group.is_none()] { "Any group" }
                    @for g in &groups { option value=(g) selected[Some(g.as_str()) == group] { (g) } }
                }
            }
            label { "Per page"
                select name="page_size" #page-size {
                    @for n in PAGE_SIZES { option value=(n) selected[n == p.page_size] { (n) } }
                }
            }
            @if p.sort != "-id" { input type="hidden" name="sort" value=(p.sort); }
            button type="submit" #apply { "Apply" }
            a.button.secondary href="/admin/users" { "Reset" }
        }
        div.table-wrap {
            table #users {
                thead { tr {
                    @for (col, label) in columns {
                        @let (href, mark) = p.sort_link(col);
                        th { a.sorted[mark.is_some()] href=(href) data-sort=(col.name()) {
                            (label) @if let Some(m) = mark { " " (m) }
                        } }
                    }
                } }
                tbody {
                    @if users.is_empty() { tr { td colspan="10" .muted { "No users match." } } }
                    @for u in &users {
                        tr.inactive[!u.is_active] data-user=(u.username) {
                            td.num { (u.id) }
                            td { a href=(format!("/admin/users/{}", u.id)) { (u.username) } }
                            td { (u.first_name) }
                            td { (u.last_name) }
                            td { (u.email) }
                            td { @for g in &u.groups { span.badge.admin[SystemRole::parse(g) == Some(SystemRole::Admin)] { (g) } } }
                            td { (staff_label(u)) }
                            td { @if u.is_active { span.badge.on { "yes" } } @else { span.badge.off { "no" } } }
                            td.num { (when(u.last_login)) }
                            td.num { (when(Some(u.date_joined))) }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" #pager {
            @if page > 1 { a href=(p.with_page(page - 1)) rel="prev" #prev { "‹ Previous" } }
            @for n in page_window(page, pages) {
                @if n == page { span.page.current aria-current="page" { (n) } }
                @else { a href=(p.with_page(n)) { (n) } }
            }
            @if page < pages { a href=(p.with_page(page + 1)) rel="next" #next { "Next ›" } }
            span.count #count { (count) " users · page " (page) " of " (pages) }
        }
    };
    Ok(c.page(&parts, StatusCode::OK, "Users", body))
}

fn staff_label(u: &UserRecord) -> &'static str {
    match (u.is_superuser, u.is_staff) {
        (true, true) => "superuser",
        (true, false) => "superuser (not staff)",
        (false, true) => "staff",
        (false, false) => "—",
    }
}

/// The page numbers around `page` (first and last always included).
fn page_window(page: i64, pages: i64) -> Vec<i64> {
    let mut v: Vec<i64> = (1..=pages)
        .filter(|n| *n == 1 || *n == pages || (n - page).abs() <= 2)
        .collect();
    v.dedup();
    v
}
