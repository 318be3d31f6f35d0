//! Users and their groups: reads for authentication and lists, and atomic writes.

use sqlx::FromRow;

use super::{bind_all, fold, now_micros, on_conn, on_pool, Db};
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
}

impl UserRecord {
    pub fn has_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g == name)
    }
}

pub(super) const USER_COLUMNS: &str = "u.id, u.username, u.password, u.email, u.first_name, \
     u.last_name, u.is_staff, u.is_superuser, u.is_active, u.last_login, u.date_joined";

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
            },
            group_name: r.get(11)?,
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

/// What a PATCH changes; `None` leaves a column as it is. Values are already validated.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub is_staff: Option<bool>,
    pub is_superuser: Option<bool>,
    pub is_active: Option<bool>,
    pub groups: Option<Vec<String>>,
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

/// Opens a write transaction that serializes with every other user write: `BEGIN IMMEDIATE`
/// on SQLite, a transaction-scoped advisory lock on PostgreSQL (invariants such as "one
/// active admin remains" are checked inside it).
macro_rules! write_tx {
    ($db:expr, $tx:ident => $body:expr) => {
        match $db {
            Db::Sqlite(p) => {
                let mut $tx = p.begin_with("BEGIN IMMEDIATE").await?;
                $body
            }
            Db::Postgres(p) => {
                let mut $tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(722001)")
                    .execute(&mut *$tx)
                    .await?;
                $body
            }
        }
    };
}

pub(super) const COUNT_ACTIVE_ADMINS: &str =
    "SELECT COUNT(*) FROM users u JOIN user_groups ug ON ug.user_id = u.id \
     JOIN groups g ON g.id = ug.group_id WHERE g.name = 'admin' AND u.is_active";

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

    pub async fn email_taken_folded(&self, email: &str) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE email_folded = $1")
            .bind(fold(email)).fetch_one(p).await).map(|n| n > 0)
    }

    pub async fn count_active_admins(&self) -> sqlx::Result<i64> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>(COUNT_ACTIVE_ADMINS).fetch_one(p).await)
    }

    /// Group names that exist, in id order.
    pub async fn group_names(&self) -> sqlx::Result<Vec<String>> {
        on_pool!(self, p => sqlx::query_scalar::<_, String>("SELECT name FROM groups ORDER BY id").fetch_all(p).await)
    }

    /// Applies `changes` atomically: row, then the superuser+staff ⇒ `admin` rule (CVAT's
    /// post-save signal), then `groups` (replacing, as DRF sets m2m after saving).
    /// Refuses, rolling back, when no active admin would remain.
    pub async fn update_user(&self, id: i64, ch: &UserChanges) -> Result<UserRecord, WriteError> {
        write_tx!(self, tx => {
            // Read inside the transaction: unchanged columns keep what concurrent writers stored.
            let current: UserRow = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"))
                .bind(id).fetch_optional(&mut *tx).await?.ok_or(WriteError::NotFound)?;
            let username = ch.username.clone().unwrap_or(current.username.clone());
            let first = ch.first_name.clone().unwrap_or(current.first_name);
            let last = ch.last_name.clone().unwrap_or(current.last_name);
            let email = ch.email.clone().unwrap_or(current.email);
            let is_staff = ch.is_staff.unwrap_or(current.is_staff);
            let is_superuser = ch.is_superuser.unwrap_or(current.is_superuser);
            let is_active = ch.is_active.unwrap_or(current.is_active);
            let key = search_key(&username, &first, &last);
            let was_admin: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users u JOIN user_groups ug ON ug.user_id = u.id JOIN groups g ON g.id = ug.group_id \
                 WHERE u.id = $1 AND u.is_active AND g.name = 'admin'").bind(id).fetch_one(&mut *tx).await?;
            if username != current.username {
                let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1 AND id <> $2")
                    .bind(&username).bind(id).fetch_one(&mut *tx).await?;
                if taken > 0 {
                    return Err(WriteError::UsernameTaken);
                }
            }
            let updated = sqlx::query(
                "UPDATE users SET username = $1, username_folded = $2, first_name = $3, last_name = $4, \
                 email = $5, email_folded = $6, search_key = $7, is_staff = $8, is_superuser = $9, is_active = $10 \
                 WHERE id = $11")
                .bind(&username).bind(fold(&username)).bind(&first).bind(&last).bind(&email)
                .bind(fold(&email)).bind(&key).bind(is_staff).bind(is_superuser).bind(is_active).bind(id)
                .execute(&mut *tx).await;
            match updated {
                Err(e) if super::is_unique_violation(&e) => return Err(WriteError::UsernameTaken),
                Err(e) => return Err(e.into()),
                Ok(r) if r.rows_affected() == 0 => return Err(WriteError::NotFound),
                Ok(_) => {}
            }
            if is_superuser && is_staff {
                sqlx::query("INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = 'admin' \
                             ON CONFLICT DO NOTHING").bind(id).execute(&mut *tx).await?;
            }
            if let Some(groups) = &ch.groups {
                sqlx::query("DELETE FROM user_groups WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                for name in groups {
                    sqlx::query("INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = $2 \
                                 ON CONFLICT DO NOTHING").bind(id).bind(name).execute(&mut *tx).await?;
                }
            }
            if was_admin > 0 {
                let admins: i64 = sqlx::query_scalar(COUNT_ACTIVE_ADMINS).fetch_one(&mut *tx).await?;
                if admins == 0 {
                    return Err(WriteError::LastAdmin(
                        "This is the last active admin: it cannot be deactivated or lose the admin group. \
                         Make another user an active admin first."));
                }
            }
            tx.commit().await?;
            Ok::<(), WriteError>(())
        })?;
        self.user_by_id(id).await?.ok_or(WriteError::NotFound)
    }

    /// Hard delete; tokens, sessions, groups and memberships cascade, owned organizations stay
    /// ownerless. Refuses to delete the last active admin.
    pub async fn delete_user(&self, id: i64) -> Result<(), WriteError> {
        write_tx!(self, tx => {
            let was_admin: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users u JOIN user_groups ug ON ug.user_id = u.id JOIN groups g ON g.id = ug.group_id \
                 WHERE u.id = $1 AND u.is_active AND g.name = 'admin'").bind(id).fetch_one(&mut *tx).await?;
            let deleted = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
            if deleted.rows_affected() == 0 {
                return Err(WriteError::NotFound);
            }
            if was_admin > 0 {
                let admins: i64 = sqlx::query_scalar(COUNT_ACTIVE_ADMINS).fetch_one(&mut *tx).await?;
                if admins == 0 {
                    return Err(WriteError::LastAdmin(
                        "This is the last active admin: deleting it would leave nobody able to administer the server. \
                         Make another user an active admin first."));
                }
            }
            if self.dialect() == Dialect::Postgres {
                sqlx::query(FOLD_USER_COUNT).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Creates a user with its groups atomically; `UsernameTaken` on a case-insensitive clash.
    pub async fn create_user(&self, new: &NewUser) -> Result<UserRecord, WriteError> {
        let now = now_micros();
        let id: i64 = write_tx!(self, tx => {
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username_folded = $1")
                .bind(fold(&new.username)).fetch_one(&mut *tx).await?;
            if taken > 0 {
                return Err(WriteError::UsernameTaken);
            }
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO users (username, username_folded, password, email, email_folded, first_name, last_name, \
                 search_key, is_staff, is_superuser, is_active, last_login, date_joined) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $13, $11, $12) RETURNING id")
                .bind(&new.username).bind(fold(&new.username)).bind(&new.password_hash).bind(&new.email)
                .bind(fold(&new.email)).bind(&new.first_name).bind(&new.last_name)
                .bind(search_key(&new.username, &new.first_name, &new.last_name))
                .bind(new.is_staff).bind(new.is_superuser).bind(new.logged_in.then_some(now)).bind(now).bind(new.is_active)
                .fetch_one(&mut *tx).await;
            let id = match inserted {
                Err(e) if super::is_unique_violation(&e) => return Err(WriteError::UsernameTaken),
                other => other?,
            };
            for name in &new.groups {
                sqlx::query("INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = $2 \
                             ON CONFLICT DO NOTHING").bind(id).bind(name).execute(&mut *tx).await?;
            }
            if self.dialect() == Dialect::Postgres {
                sqlx::query(FOLD_USER_COUNT).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            id
        });
        self.user_by_id(id).await?.ok_or(WriteError::NotFound)
    }

    pub async fn set_last_login(&self, id: i64) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE users SET last_login = $1 WHERE id = $2")
            .bind(now_micros()).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn set_password_hash(&self, id: i64, hash: &str) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE users SET password = $1 WHERE id = $2")
            .bind(hash).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}

impl Db {
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
