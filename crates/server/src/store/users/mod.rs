//! Users and their groups: reads for authentication and lists, and atomic writes.

use sqlx::FromRow;

mod console;
mod ldap;
mod writes;

pub(in crate::store) use writes::{write_tx, COUNT_ACTIVE_ADMINS};

pub use console::UserColumn;
pub use ldap::{LdapStatus, LdapSync, LdapSynced};
pub use writes::MailForNewUser;

use super::{bind_all, fold, on_conn, on_pool, Db};
use crate::filters::{self, Bind, Dialect, Field, Rule, SqlBuf};

/// A user as stored. `password` is the encoded hash and never leaves the server.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub is_active: bool,
    pub last_login: Option<i64>,
    pub date_joined: i64,
    /// Group names in group-id order (admin, business, user, worker, then others).
    pub groups: Vec<String>,
    /// How the account came to be (`registration`, `invitation`; spec §6), if recorded.
    pub created_via: Option<String>,
    /// Whether `email` is confirmed: `None` never asked, `Some(false)` a confirmation pending
    /// (spec §3, `service::verification`).
    pub email_verified: Option<bool>,
    /// When an administrator blocked the account (`service::access`); `None`: not blocked.
    pub blocked_date: Option<i64>,
    /// Every request but a password change is refused until the user sets a new password.
    pub must_change_password: bool,
    /// A confirmed TOTP factor exists (`mfa_totp`; the enrolment policy reads it).
    pub mfa_enabled: bool,
}

impl UserRecord {
    pub fn has_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g == name)
    }
}

pub(super) const USER_COLUMNS: &str = "u.id, u.username, u.password, u.email, u.first_name, \
     u.last_name, u.is_staff, u.is_superuser, u.is_active, u.last_login, u.date_joined, u.created_via, u.email_verified, u.blocked_date, \
     u.must_change_password, u.mfa_enabled";

#[derive(FromRow)]
pub(super) struct UserRow {
    id: i64,
    username: String,
    password: String,
    email: String,
    first_name: String,
    last_name: String,
    is_staff: bool,
    is_superuser: bool,
    is_active: bool,
    last_login: Option<i64>,
    date_joined: i64,
    created_via: Option<String>,
    email_verified: Option<bool>,
    blocked_date: Option<i64>,
    must_change_password: bool,
    mfa_enabled: bool,
}

impl From<UserRow> for UserRecord {
    fn from(r: UserRow) -> Self {
        UserRecord {
            id: r.id,
            username: r.username,
            password: r.password,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            is_staff: r.is_staff,
            is_superuser: r.is_superuser,
            is_active: r.is_active,
            last_login: r.last_login,
            date_joined: r.date_joined,
            groups: Vec::new(),
            created_via: r.created_via,
            email_verified: r.email_verified,
            blocked_date: r.blocked_date,
            must_change_password: r.must_change_password,
            mfa_enabled: r.mfa_enabled,
        }
    }
}

/// One row of a "user LEFT JOIN groups" query: a user repeats once per group.
#[derive(FromRow)]
pub(super) struct UserGroupRow {
    #[sqlx(flatten)]
    user: UserRow,
    group_name: Option<String>,
}

impl UserGroupRow {
    /// The same row read by rusqlite (`store/sqlite_reads.rs`): `USER_COLUMNS`, then `group_name`,
    /// at the start of the select list.
    pub(super) fn from_direct(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserGroupRow> {
        Ok(UserGroupRow {
            user: UserRow {
                id: r.get(0)?,
                username: r.get(1)?,
                password: r.get(2)?,
                email: r.get(3)?,
                first_name: r.get(4)?,
                last_name: r.get(5)?,
                is_staff: r.get(6)?,
                is_superuser: r.get(7)?,
                is_active: r.get(8)?,
                last_login: r.get(9)?,
                date_joined: r.get(10)?,
                created_via: r.get(11)?,
                email_verified: r.get(12)?,
                blocked_date: r.get(13)?,
                must_change_password: r.get(14)?,
                mfa_enabled: r.get(15)?,
            },
            group_name: r.get(16)?,
        })
    }
}

/// Folds joined rows (ordered by user) into users with their groups.
pub(super) fn collapse(rows: Vec<UserGroupRow>) -> Vec<UserRecord> {
    let mut out: Vec<UserRecord> = Vec::new();
    for row in rows {
        let group = row.group_name;
        match out.last_mut() {
            Some(last) if last.id == row.user.id => last.groups.extend(group),
            _ => {
                let mut user = UserRecord::from(row.user);
                user.groups.extend(group);
                out.push(user);
            }
        }
    }
    out
}

/// An account an invitation made for an address without one (spec §4.3): it has never had a
/// usable password (Django's `!` prefix) and registration may take it over.
pub(crate) const PLACEHOLDER: &str =
    "(COALESCE(u.created_via, '') = 'invitation' AND u.password LIKE '!%')";

/// `FROM users u` with groups joined; callers append `WHERE ...`, then `ORDER BY u.id, g.id`.
pub(super) const JOINED_FROM: &str = " FROM users u LEFT JOIN user_groups ug ON ug.user_id = u.id \
     LEFT JOIN groups g ON g.id = ug.group_id ";

/// Which users a list or a detail lookup may see, before paging.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Non-admins outside an organization see only themselves.
    pub only_id: Option<i64>,
    pub org: OrgScope,
    pub search: Vec<String>,
    pub rule: Option<Rule>,
    /// Simple exact-match filters (`?username=`, `?is_active=`, ...).
    pub exact: Vec<(Field, Bind)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OrgScope {
    #[default]
    Any,
    /// Users with a membership row (active or not) in this organization.
    MemberOf(i64),
    /// An empty organization selector: users with no membership at all.
    NoMemberships,
}

/// A user to create (registration, createsuperuser, `POST /api/users`).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub groups: Vec<String>,
    pub logged_in: bool,
    pub is_active: bool,
    /// `created_via` (spec §6): `registration` for sign-ups, `None` for accounts made by
    /// administrators and imports.
    pub created_via: Option<&'static str>,
    /// `Some(false)` when a confirmation mail goes out with the account (spec §3.2).
    pub email_verified: Option<bool>,
    /// An administrator's "must change the password at the first login".
    pub must_change_password: bool,
    /// SCIM's `externalId` (the provisioning client's id of the account).
    pub external_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("not found")]
    NotFound,
    #[error("username taken")]
    UsernameTaken,
    #[error("{0}")]
    LastAdmin(&'static str),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub(crate) fn search_key(username: &str, first: &str, last: &str) -> String {
    format!("{}\n{}\n{}", fold(username), fold(first), fold(last))
}

/// PostgreSQL: replaces the rows of `user_count_delta` (one per statement that added or removed
/// users, see migration 0004) by their sum, so that counting stays a read of a few rows.
pub(crate) const FOLD_USER_COUNT: &str = "WITH gone AS (DELETE FROM user_count_delta RETURNING n) \
     INSERT INTO user_count_delta (n) SELECT COALESCE(SUM(n), 0) FROM gone";

impl Db {
    pub(super) fn where_clause(&self, q: &UserQuery, out: &mut SqlBuf) {
        let dialect = self.dialect();
        out.push(" WHERE 1=1");
        if let Some(id) = q.only_id {
            out.push(" AND u.id = ");
            out.bind(Bind::Int(id));
        }
        match q.org {
            OrgScope::Any => {}
            // Driven by the organization's memberships (an index range), not by every user.
            OrgScope::MemberOf(org) => {
                out.push(
                    " AND u.id IN (SELECT m.user_id FROM memberships m WHERE m.organization_id = ",
                );
                out.bind(Bind::Int(org));
                out.push(")");
            }
            OrgScope::NoMemberships => {
                out.push(" AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id)")
            }
        }
        if !q.search.is_empty() {
            out.push(" AND ");
            filters::compile_search(&q.search, dialect, out);
        }
        if let Some(rule) = &q.rule {
            out.push(" AND ");
            filters::compile_rule(rule, dialect, out);
        }
        for (field, value) in &q.exact {
            out.push(" AND ");
            out.push(field.column());
            out.push(" = ");
            out.bind(value.clone());
        }
    }

    /// How many users `q` lets through. Counting rows is the slow part of a list at a million
    /// users, so the common shapes count something smaller: all users the row of `user_count`
    /// (SQLite) or the few rows of `user_count_delta` (PostgreSQL), one organization its
    /// memberships (each names one existing user, once),
    /// a search on SQLite the trigram index alone (when every term is indexed).
    pub async fn count_users(&self, q: &UserQuery) -> sqlx::Result<i64> {
        let unscoped = q.only_id.is_none() && q.rule.is_none() && q.exact.is_empty();
        let sqlite = self.dialect() == Dialect::Sqlite;
        let mut sql = SqlBuf::default();
        match q.org {
            OrgScope::Any if unscoped && q.search.is_empty() && sqlite => {
                sql.push("SELECT n FROM user_count")
            }
            OrgScope::Any if unscoped && q.search.is_empty() => {
                sql.push("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM user_count_delta")
            }
            OrgScope::MemberOf(org) if unscoped && q.search.is_empty() => {
                sql.push("SELECT COUNT(*) FROM memberships WHERE organization_id = ");
                sql.bind(Bind::Int(org));
            }
            OrgScope::Any
                if unscoped && sqlite && q.search.iter().all(|t| filters::term_is_indexed(t)) =>
            {
                sql.push("SELECT COUNT(*) FROM users_search WHERE users_search MATCH ");
                sql.bind(Bind::Text(
                    filters::fts_query(&q.search).unwrap_or_default(),
                ));
            }
            _ => {
                sql.push("SELECT COUNT(*) FROM users u");
                self.where_clause(q, &mut sql);
            }
        }
        if let Some(n) = self.read_list(&sql, |r| r.get(0)).await {
            return Ok(n[0]);
        }
        on_conn!(self, c => bind_all!(sqlx::query_scalar::<_, i64>(&sql.sql), &sql.binds).fetch_one(&mut *c).await)
    }

    /// One page of users in `sort` order, with their groups: one query.
    pub async fn list_users(
        &self,
        q: &UserQuery,
        sort: &[(Field, bool)],
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<UserRecord>> {
        self.list_page(q, sort, None, offset, limit).await
    }

    /// The next `limit` users in `sort` order after `after` (keyset paging, for streaming a
    /// whole list in batches): one query.
    pub async fn list_users_after(
        &self,
        q: &UserQuery,
        sort: &[(Field, bool)],
        after: Option<&UserRecord>,
        limit: i64,
    ) -> sqlx::Result<Vec<UserRecord>> {
        self.list_page(q, sort, after, 0, limit).await
    }

    /// `SELECT ... FROM (the page of users) u LEFT JOIN their groups`, ordered by the sort keys,
    /// the id tie-breaker and the group id.
    async fn list_page(
        &self,
        q: &UserQuery,
        sort: &[(Field, bool)],
        after: Option<&UserRecord>,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<UserRecord>> {
        let dialect = self.dialect();
        let mut order = SqlBuf::default();
        filters::compile_order(sort, dialect, &mut order);
        // A search sorted by id on SQLite walks the trigram index in id order and stops at the
        // end of the page; `u.id IN (matches)` would collect every match first.
        let by_id = match sort {
            [(Field::Id, desc)] => Some(*desc),
            _ => None,
        };
        let fts = by_id
            .filter(|_| dialect == Dialect::Sqlite)
            .and_then(|_| filters::fts_query(&q.search));
        let mut sql = SqlBuf::default();
        sql.push("SELECT ");
        sql.push(USER_COLUMNS);
        sql.push(", g.name AS group_name FROM (SELECT ");
        sql.push(USER_COLUMNS);
        let inner_order = if let Some(query) = fts {
            let mut rest = q.clone();
            rest.search.retain(|t| !filters::term_is_indexed(t));
            sql.push(" FROM users_search s JOIN users u ON u.id = s.rowid");
            self.where_clause(&rest, &mut sql);
            sql.push(" AND users_search MATCH ");
            sql.bind(Bind::Text(query));
            let desc = by_id == Some(true);
            format!("ORDER BY s.rowid {}", if desc { "DESC" } else { "ASC" })
        } else {
            sql.push(" FROM users u");
            self.where_clause(q, &mut sql);
            order.sql.clone()
        };
        if let Some(cursor) = after {
            sql.push(" AND ");
            keyset_after(sort, cursor, dialect, &mut sql);
        }
        sql.push(" ");
        sql.push(&inner_order);
        sql.push(" LIMIT ");
        sql.bind(Bind::Int(limit));
        sql.push(" OFFSET ");
        sql.bind(Bind::Int(offset));
        sql.push(") u LEFT JOIN user_groups ug ON ug.user_id = u.id LEFT JOIN groups g ON g.id = ug.group_id ");
        sql.push(&order.sql);
        sql.push(", g.id");
        self.fetch_joined(&sql).await
    }

    /// Loads the groups of `users` (in chunks, to stay under parameter limits).
    pub async fn attach_groups(&self, users: &mut [UserRecord]) -> sqlx::Result<()> {
        for chunk in users.chunks_mut(500) {
            let mut sql = SqlBuf::default();
            sql.push("SELECT ug.user_id, g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE ug.user_id IN (");
            for (i, u) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(Bind::Int(u.id));
            }
            sql.push(") ORDER BY ug.user_id, g.id");
            let pairs: Vec<(i64, String)> = on_pool!(self, p => {
                bind_all!(sqlx::query_as::<_, (i64, String)>(&sql.sql), &sql.binds).fetch_all(p).await?
            });
            for (user_id, name) in pairs {
                if let Some(u) = chunk.iter_mut().find(|u| u.id == user_id) {
                    u.groups.push(name);
                }
            }
        }
        Ok(())
    }

    async fn fetch_joined(&self, sql: &SqlBuf) -> sqlx::Result<Vec<UserRecord>> {
        if let Some(rows) = self.read_list(sql, UserGroupRow::from_direct).await {
            return Ok(collapse(rows));
        }
        let rows: Vec<UserGroupRow> = on_conn!(self, c => {
            bind_all!(sqlx::query_as::<_, UserGroupRow>(&sql.sql), &sql.binds).fetch_all(&mut *c).await
        })?;
        Ok(collapse(rows))
    }

    /// `fetch_joined` for a statement that reads a few users through an index: on the calling
    /// thread where it can (`store/sqlite_reads.rs`).
    async fn fetch_joined_point(&self, sql: &SqlBuf) -> sqlx::Result<Vec<UserRecord>> {
        let params = rusqlite::params_from_iter(&sql.binds);
        match self.read_point(&sql.sql, params, UserGroupRow::from_direct) {
            Some(rows) => Ok(collapse(rows)),
            None => self.fetch_joined(sql).await,
        }
    }

    fn joined_select() -> SqlBuf {
        let mut sql = SqlBuf::default();
        sql.push("SELECT ");
        sql.push(USER_COLUMNS);
        sql.push(", g.name AS group_name");
        sql.push(JOINED_FROM);
        sql
    }

    /// A user visible through `q`, by id (detail routes apply the list's filters, spec §8.5).
    pub async fn find_user(&self, q: &UserQuery, id: i64) -> sqlx::Result<Option<UserRecord>> {
        let mut sql = Self::joined_select();
        self.where_clause(q, &mut sql);
        sql.push(" AND u.id = ");
        sql.bind(Bind::Int(id));
        sql.push(" ORDER BY u.id, g.id");
        Ok(self.fetch_joined(&sql).await?.pop())
    }

    pub async fn user_by_id(&self, id: i64) -> sqlx::Result<Option<UserRecord>> {
        self.find_user(&UserQuery::default(), id).await
    }

    /// Users whose username or e-mail equals `login`, case-insensitively (Basic auth, login),
    /// in the order Django's backends try them: the exact username (`ModelBackend`), then
    /// case-insensitive usernames, then e-mail addresses (allauth).
    pub async fn users_by_login(&self, login: &str) -> sqlx::Result<Vec<UserRecord>> {
        let mut sql = Self::joined_select();
        sql.push(" WHERE u.username_folded = ");
        sql.bind(Bind::Text(fold(login)));
        sql.push(" OR u.email_folded = ");
        sql.bind(Bind::Text(fold(login)));
        sql.push(" ORDER BY CASE WHEN u.username = ");
        sql.bind(Bind::Text(login.to_string()));
        sql.push(" THEN 0 WHEN u.username_folded = ");
        sql.bind(Bind::Text(fold(login)));
        sql.push(" THEN 1 ELSE 2 END, u.id, g.id");
        self.fetch_joined_point(&sql).await
    }

    /// Users whose e-mail equals `email` case-insensitively.
    pub async fn users_by_email(&self, email: &str) -> sqlx::Result<Vec<UserRecord>> {
        let mut sql = Self::joined_select();
        sql.push(" WHERE u.email_folded = ");
        sql.bind(Bind::Text(fold(email)));
        sql.push(" ORDER BY u.id, g.id");
        self.fetch_joined(&sql).await
    }

    pub async fn username_taken_folded(&self, username: &str) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE username_folded = $1")
            .bind(fold(username)).fetch_one(p).await).map(|n| n > 0)
    }

    /// Whether an account has `email` (case-insensitively); with `except_placeholders`,
    /// invitation placeholders (which registration takes over) do not count.
    pub async fn email_taken_folded(
        &self,
        email: &str,
        except_placeholders: bool,
    ) -> sqlx::Result<bool> {
        let sql = format!(
            "SELECT COUNT(*) FROM users u WHERE u.email_folded = $1 AND NOT ($2 AND {PLACEHOLDER})"
        );
        on_pool!(self, p => sqlx::query_scalar::<_, i64>(&sql)
            .bind(fold(email)).bind(except_placeholders).fetch_one(p).await)
        .map(|n| n > 0)
    }

    /// The invitation placeholder account with `email` (case-insensitively), if there is one.
    pub async fn placeholder_with_email(&self, email: &str) -> sqlx::Result<Option<i64>> {
        let sql = format!(
            "SELECT u.id FROM users u WHERE u.email_folded = $1 AND {PLACEHOLDER} ORDER BY u.id LIMIT 1"
        );
        on_pool!(self, p => sqlx::query_scalar::<_, i64>(&sql).bind(fold(email)).fetch_optional(p).await)
    }

    /// Group names that exist, in id order.
    pub async fn group_names(&self) -> sqlx::Result<Vec<String>> {
        on_pool!(self, p => sqlx::query_scalar::<_, String>("SELECT name FROM groups ORDER BY id").fetch_all(p).await)
    }

    /// PATCH's uniqueness rule: exact (case-sensitive) match with another user.
    pub async fn username_taken_exact(&self, username: &str, except_id: i64) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE username = $1 AND id <> $2")
            .bind(username).bind(except_id).fetch_one(p).await).map(|n| n > 0)
    }
}

/// `(k1, k2, ..., id)` strictly after `cursor` in the order of `sort` (each key ascending or
/// descending, the id tie-breaker ascending unless sorted on): `(k1 ≷ v1 OR (k1 = v1 AND (k2 ≷
/// v2 OR ...)))`, with the same byte-wise comparisons as the ORDER BY.
fn keyset_after(sort: &[(Field, bool)], cursor: &UserRecord, dialect: Dialect, out: &mut SqlBuf) {
    let mut keys = sort.to_vec();
    if !keys.iter().any(|(f, _)| *f == Field::Id) {
        keys.push((Field::Id, false));
    }
    let value = |f: Field| match f {
        Field::Id => Bind::Int(cursor.id),
        Field::Username => Bind::Text(cursor.username.clone()),
        Field::FirstName => Bind::Text(cursor.first_name.clone()),
        Field::LastName => Bind::Text(cursor.last_name.clone()),
        Field::IsActive => Bind::Bool(cursor.is_active),
    };
    for (i, (field, desc)) in keys.iter().enumerate() {
        if i == 0 {
            out.push("(");
        } else {
            let previous = keys[i - 1].0;
            out.push(" OR (");
            out.push(&filters::ordered_column(previous, dialect));
            out.push(" = ");
            out.bind(value(previous));
            out.push(" AND (");
        }
        out.push(&filters::ordered_column(*field, dialect));
        out.push(if *desc { " < " } else { " > " });
        out.bind(value(*field));
    }
    // Close each key's "(" and each later key's "OR (".
    out.push(&")".repeat(keys.len() * 2 - 1));
}
