//! The reads SCIM needs beyond the users module's (`http::scim`): a page of user ids under a
//! compiled SCIM filter (`scim::users_sql`, bound parameters only) and its count, the users of
//! such a page with their groups in one query, and the two columns SCIM adds (`external_id`,
//! `modified_date`, migration 0018). Writes go through `users/writes.rs` like every other.

use std::collections::HashMap;

use super::users::{collapse, UserGroupRow, JOINED_FROM, USER_COLUMNS};
use super::{bind_all, on_conn, on_pool, Db, UserRecord};
use crate::filters::{Bind, SqlBuf};

/// What SCIM shows of a user beyond `UserRecord`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScimUserMeta {
    pub external_id: Option<String>,
    /// The last change through the users module's writes; `None`: never changed.
    pub modified_date: Option<i64>,
}

impl Db {
    /// How many users `filter` (a boolean expression over `users u`) lets through.
    pub async fn scim_count_users(&self, filter: &SqlBuf) -> sqlx::Result<i64> {
        let mut sql = SqlBuf::default();
        sql.push("SELECT COUNT(*) FROM users u WHERE ");
        sql.push(&filter.sql);
        sql.binds.clone_from(&filter.binds);
        if let Some(n) = self.read_list(&sql, |r| r.get(0)).await {
            return Ok(n.first().copied().unwrap_or(0));
        }
        on_conn!(self, c => bind_all!(sqlx::query_scalar::<_, i64>(&sql.sql), &sql.binds).fetch_one(&mut *c).await)
    }

    /// One page of the users `filter` lets through, in `order` (an ORDER BY over `users u`
    /// from `scim::users_sql::order_by`), with their groups.
    pub async fn scim_list_users(
        &self,
        filter: &SqlBuf,
        order: &str,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<UserRecord>> {
        let mut sql = SqlBuf::default();
        sql.push("SELECT u.id FROM users u WHERE ");
        sql.push(&filter.sql);
        sql.binds.clone_from(&filter.binds);
        sql.push(" ");
        sql.push(order);
        sql.push(" LIMIT ");
        sql.bind(Bind::Int(limit));
        sql.push(" OFFSET ");
        sql.bind(Bind::Int(offset));
        let ids: Vec<i64> = match self.read_list(&sql, |r| r.get(0)).await {
            Some(ids) => ids,
            None => on_conn!(self, c => {
                bind_all!(sqlx::query_scalar::<_, i64>(&sql.sql), &sql.binds).fetch_all(&mut *c).await
            })?,
        };
        let mut users = self.users_by_ids(&ids).await?;
        let position: HashMap<i64, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        users.sort_by_key(|u| position.get(&u.id).copied().unwrap_or(usize::MAX));
        Ok(users)
    }

    /// The users with these ids (at most a page), with their groups, in id order.
    pub async fn users_by_ids(&self, ids: &[i64]) -> sqlx::Result<Vec<UserRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = SqlBuf::default();
        sql.push("SELECT ");
        sql.push(USER_COLUMNS);
        sql.push(", g.name AS group_name");
        sql.push(JOINED_FROM);
        sql.push(" WHERE u.id IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Bind::Int(*id));
        }
        sql.push(") ORDER BY u.id, g.id");
        if let Some(rows) = self.read_list(&sql, UserGroupRow::from_direct).await {
            return Ok(collapse(rows));
        }
        let rows: Vec<UserGroupRow> = on_conn!(self, c => {
            bind_all!(sqlx::query_as::<_, UserGroupRow>(&sql.sql), &sql.binds).fetch_all(&mut *c).await
        })?;
        Ok(collapse(rows))
    }

    /// `external_id` and `modified_date` of these users (absent ids are left out).
    pub async fn scim_user_meta(&self, ids: &[i64]) -> sqlx::Result<HashMap<i64, ScimUserMeta>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = SqlBuf::default();
        sql.push("SELECT id, external_id, modified_date FROM users WHERE id IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Bind::Int(*id));
        }
        sql.push(")");
        let rows: Vec<(i64, Option<String>, Option<i64>)> = on_pool!(self, p => {
            bind_all!(sqlx::query_as::<_, (i64, Option<String>, Option<i64>)>(&sql.sql), &sql.binds)
                .fetch_all(p).await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, external_id, modified_date)| {
                (
                    id,
                    ScimUserMeta {
                        external_id,
                        modified_date,
                    },
                )
            })
            .collect())
    }

    /// The active organizations (id, slug) each of these users is an active member of.
    pub async fn scim_user_orgs(&self, ids: &[i64]) -> sqlx::Result<Vec<(i64, i64, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = SqlBuf::default();
        sql.push(
            "SELECT m.user_id, o.id, o.slug FROM memberships m JOIN organizations o ON o.id = m.organization_id \
             WHERE m.is_active AND m.user_id IN (",
        );
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Bind::Int(*id));
        }
        sql.push(") ORDER BY m.user_id, o.id");
        on_pool!(self, p => {
            bind_all!(sqlx::query_as::<_, (i64, i64, String)>(&sql.sql), &sql.binds).fetch_all(p).await
        })
    }
}
