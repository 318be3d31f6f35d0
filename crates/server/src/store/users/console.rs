//! The console's user list (the API's visibility and search rules, plus sorting by any column and a
//! group filter).

use super::{UserQuery, UserRecord, UserRow, USER_COLUMNS};
use crate::filters::{Bind, Dialect, SqlBuf};
use crate::store::{bind_all, on_pool, Db};

/// A column of the console's user table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserColumn {
    Id,
    Username,
    FirstName,
    LastName,
    Email,
    /// By the highest privilege (group id order: admin, business, user, worker, others).
    Groups,
    IsStaff,
    IsActive,
    LastLogin,
    DateJoined,
}

impl UserColumn {
    pub const ALL: [UserColumn; 10] = [
        UserColumn::Id,
        UserColumn::Username,
        UserColumn::FirstName,
        UserColumn::LastName,
        UserColumn::Email,
        UserColumn::Groups,
        UserColumn::IsStaff,
        UserColumn::IsActive,
        UserColumn::LastLogin,
        UserColumn::DateJoined,
    ];

    /// The name used in `?sort=` (with `-` for descending).
    pub fn name(self) -> &'static str {
        match self {
            UserColumn::Id => "id",
            UserColumn::Username => "username",
            UserColumn::FirstName => "first_name",
            UserColumn::LastName => "last_name",
            UserColumn::Email => "email",
            UserColumn::Groups => "groups",
            UserColumn::IsStaff => "is_staff",
            UserColumn::IsActive => "is_active",
            UserColumn::LastLogin => "last_login",
            UserColumn::DateJoined => "date_joined",
        }
    }

    /// `"username"` → ascending, `"-username"` → descending; unknown names give `None`.
    pub fn parse(raw: &str) -> Option<(UserColumn, bool)> {
        let (desc, name) = raw.strip_prefix('-').map_or((false, raw), |n| (true, n));
        Self::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .map(|c| (c, desc))
    }

    /// An expression without NULLs (both engines order NULLs differently), text compared
    /// byte-wise as the API's sort does.
    fn expr(self, dialect: Dialect) -> String {
        let text = |col: &str| match dialect {
            Dialect::Postgres => format!("{col} COLLATE \"C\""),
            Dialect::Sqlite => col.to_string(),
        };
        match self {
            UserColumn::Id => "u.id".into(),
            UserColumn::Username => text("u.username"),
            UserColumn::FirstName => text("u.first_name"),
            UserColumn::LastName => text("u.last_name"),
            UserColumn::Email => text("u.email"),
            UserColumn::Groups => "COALESCE((SELECT MIN(ug.group_id) FROM user_groups ug WHERE ug.user_id = u.id), 9223372036854775807)".into(),
            UserColumn::IsStaff => "(CASE WHEN u.is_superuser THEN 2 WHEN u.is_staff THEN 1 ELSE 0 END)".into(),
            UserColumn::IsActive => "(CASE WHEN u.is_active THEN 1 ELSE 0 END)".into(),
            UserColumn::LastLogin => "COALESCE(u.last_login, -1)".into(),
            UserColumn::DateJoined => "u.date_joined".into(),
        }
    }
}

impl Db {
    /// `where_clause` of the API's list plus the console's group filter.
    fn admin_where(&self, q: &UserQuery, group: Option<&str>, sql: &mut SqlBuf) {
        self.where_clause(q, sql);
        if let Some(group) = group {
            sql.push(" AND EXISTS (SELECT 1 FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE ug.user_id = u.id AND g.name = ");
            sql.bind(Bind::Text(group.to_string()));
            sql.push(")");
        }
    }

    pub async fn admin_count_users(&self, q: &UserQuery, group: Option<&str>) -> sqlx::Result<i64> {
        let mut sql = SqlBuf::default();
        sql.push("SELECT COUNT(*) FROM users u");
        self.admin_where(q, group, &mut sql);
        on_pool!(self, p => bind_all!(sqlx::query_scalar::<_, i64>(&sql.sql), &sql.binds).fetch_one(p).await)
    }

    /// One page of the console's user table, ordered by `sort` then by id (pages never overlap).
    pub async fn admin_list_users(
        &self,
        q: &UserQuery,
        group: Option<&str>,
        sort: (UserColumn, bool),
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<UserRecord>> {
        let mut sql = SqlBuf::default();
        sql.push("SELECT ");
        sql.push(USER_COLUMNS);
        sql.push(" FROM users u");
        self.admin_where(q, group, &mut sql);
        let dir = if sort.1 { "DESC" } else { "ASC" };
        sql.push(&format!(" ORDER BY {} {dir}", sort.0.expr(self.dialect())));
        if sort.0 != UserColumn::Id {
            sql.push(&format!(", u.id {dir}"));
        }
        sql.push(" LIMIT ");
        sql.bind(Bind::Int(limit));
        sql.push(" OFFSET ");
        sql.bind(Bind::Int(offset));
        let rows: Vec<UserRow> = on_pool!(self, p => {
            bind_all!(sqlx::query_as::<_, UserRow>(&sql.sql), &sql.binds).fetch_all(p).await?
        });
        let mut users: Vec<UserRecord> = rows.into_iter().map(UserRecord::from).collect();
        self.attach_groups(&mut users).await?;
        Ok(users)
    }
}
