//! Bulk loads: the Django importer (`crate::import`) and the bench seed write through this one
//! transaction, so the SQL of every table stays in the store. Rows go in as multi-row INSERTs
//! of up to `BATCH` rows; given ids are kept, and on PostgreSQL the id sequences move past them
//! at commit. The transaction serializes with the server's own user writes, like theirs.

use super::users::{search_key, COUNT_ACTIVE_ADMINS, FOLD_USER_COUNT};
use super::{digest, fold, Db, Dialect};

/// Rows per INSERT statement.
const BATCH: usize = 1000;

/// A user row as loaded: `password` is an encoded hash; `id` `None` lets the database pick.
#[derive(Debug, Clone)]
pub struct BulkUser {
    pub id: Option<i64>,
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
}

/// A login token; its storage form (the key's digest) is decided here only.
#[derive(Debug, Clone)]
pub struct BulkToken {
    pub key: String,
    pub user_id: i64,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub struct BulkOrg {
    pub id: Option<i64>,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub created: i64,
    pub updated: i64,
    /// The contact JSON object, as text.
    pub contact: String,
    pub owner_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct BulkMembership {
    pub id: Option<i64>,
    pub user_id: i64,
    pub organization_id: i64,
    pub is_active: bool,
    pub joined: Option<i64>,
    pub role: String,
}

#[derive(Debug, Clone)]
pub struct BulkInvitation {
    pub key: String,
    pub created: i64,
    pub owner_id: Option<i64>,
    pub membership_id: i64,
}

/// Rows present before a load.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableCounts {
    pub users: i64,
    pub organizations: i64,
    pub memberships: i64,
    pub invitations: i64,
    pub tokens: i64,
}

/// A bound value (the filters' `Bind` has no NULL).
enum Val {
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    Text(String),
}

macro_rules! bind_vals {
    ($query:expr, $vals:expr) => {{
        let mut q = $query;
        for v in $vals {
            q = match v {
                Val::Int(v) => q.bind(*v),
                Val::OptInt(v) => q.bind(*v),
                Val::Bool(v) => q.bind(*v),
                Val::Text(v) => q.bind(v.as_str()),
            };
        }
        q
    }};
}

/// Runs `$body` with `$tx` bound to the open transaction of either engine.
macro_rules! on_tx {
    ($self:expr, $tx:ident => $body:expr) => {
        match &mut $self.tx {
            Tx::Sqlite($tx) => $body,
            Tx::Postgres($tx) => $body,
        }
    };
}

enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// One write transaction of a bulk load: all of it, or (dropped or rolled back) nothing.
pub struct BulkTx {
    tx: Tx,
}

impl Db {
    /// Opens the load's transaction, serialized with every other user write.
    pub async fn begin_bulk(&self) -> sqlx::Result<BulkTx> {
        let tx = match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(722001)")
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
        };
        Ok(BulkTx { tx })
    }

    /// After a large load: what autovacuum would do on PostgreSQL (statistics, a visibility
    /// map for index-only counts), and a truncated write-ahead log on SQLite.
    pub async fn settle_after_bulk_load(&self) -> sqlx::Result<()> {
        match self {
            Db::Sqlite(p) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&**p)
                    .await?;
            }
            Db::Postgres(p) => {
                sqlx::query("VACUUM ANALYZE users, user_groups, organizations, memberships")
                    .execute(&**p)
                    .await?;
            }
        }
        Ok(())
    }
}

impl BulkTx {
    pub fn dialect(&self) -> Dialect {
        match self.tx {
            Tx::Sqlite(_) => Dialect::Sqlite,
            Tx::Postgres(_) => Dialect::Postgres,
        }
    }

    async fn exec(&mut self, sql: &str, vals: &[Val]) -> sqlx::Result<()> {
        on_tx!(self, tx => bind_vals!(sqlx::query(sql), vals).execute(&mut **tx).await.map(|_| ()))
    }

    async fn opt_i64(&mut self, sql: &str, vals: &[Val]) -> sqlx::Result<Option<i64>> {
        on_tx!(self, tx => bind_vals!(sqlx::query_scalar::<_, i64>(sql), vals).fetch_optional(&mut **tx).await)
    }

    async fn i64(&mut self, sql: &str, vals: &[Val]) -> sqlx::Result<i64> {
        self.opt_i64(sql, vals)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    async fn pairs(&mut self, sql: &str, vals: &[Val]) -> sqlx::Result<Vec<(i64, String)>> {
        on_tx!(self, tx => bind_vals!(sqlx::query_as::<_, (i64, String)>(sql), vals).fetch_all(&mut **tx).await)
    }

    /// `head` (`INSERT INTO t (c1, ..., cn)`) with `rows` of `n` values each, `BATCH` rows per
    /// statement, then `tail` (e.g. `ON CONFLICT DO NOTHING`).
    async fn insert_rows(
        &mut self,
        head: &str,
        tail: &str,
        n: usize,
        values: Vec<Val>,
    ) -> sqlx::Result<()> {
        let sqlite = self.dialect() == Dialect::Sqlite;
        let mut values = values.into_iter().peekable();
        while values.peek().is_some() {
            let chunk: Vec<Val> = values.by_ref().take(BATCH * n).collect();
            let mut sql = String::with_capacity(head.len() + chunk.len() * 6);
            sql.push_str(head);
            sql.push_str(" VALUES ");
            for i in 0..chunk.len() {
                sql.push_str(match (i % n, i) {
                    (0, 0) => "(",
                    (0, _) => "),(",
                    _ => ",",
                });
                // SQLite: plain `?` (sqlx looks every `$n` up by name, quadratic in the count).
                if sqlite {
                    sql.push('?');
                } else {
                    sql.push_str(&format!("${}", i + 1));
                }
            }
            sql.push(')');
            sql.push_str(tail);
            self.exec(&sql, &chunk).await?;
        }
        Ok(())
    }

    /// The seed's speed-ups for SQLite: no waiting for the disk, a large page cache.
    pub async fn relax_durability(&mut self) -> sqlx::Result<()> {
        if self.dialect() == Dialect::Sqlite {
            // Some SQLite versions refuse this inside a transaction; only speed is at stake.
            let _ = self.exec("PRAGMA synchronous = OFF", &[]).await;
            self.exec("PRAGMA cache_size = -262144", &[]).await?;
        }
        Ok(())
    }

    /// Deletes the users, organizations, memberships, invitations, tokens and sessions.
    pub async fn clear_identity_tables(&mut self) -> sqlx::Result<()> {
        for sql in [
            "DELETE FROM invitations",
            "DELETE FROM memberships",
            "DELETE FROM organizations",
            "DELETE FROM tokens",
            "DELETE FROM sessions",
            "DELETE FROM user_groups",
            "DELETE FROM users",
        ] {
            self.exec(sql, &[]).await?;
        }
        Ok(())
    }

    pub async fn table_counts(&mut self) -> sqlx::Result<TableCounts> {
        Ok(TableCounts {
            users: self.i64("SELECT COUNT(*) FROM users", &[]).await?,
            organizations: self.i64("SELECT COUNT(*) FROM organizations", &[]).await?,
            memberships: self.i64("SELECT COUNT(*) FROM memberships", &[]).await?,
            invitations: self.i64("SELECT COUNT(*) FROM invitations", &[]).await?,
            tokens: self.i64("SELECT COUNT(*) FROM tokens", &[]).await?,
        })
    }

    // -- groups and users

    /// `(id, name)` of every group.
    pub async fn groups(&mut self) -> sqlx::Result<Vec<(i64, String)>> {
        self.pairs("SELECT id, name FROM groups", &[]).await
    }

    pub async fn insert_group(&mut self, name: &str) -> sqlx::Result<i64> {
        self.i64(
            "INSERT INTO groups (name) VALUES ($1) RETURNING id",
            &[Val::Text(name.into())],
        )
        .await
    }

    /// `(id, username)` of the users with this id or this username (case-insensitively).
    pub async fn users_matching(
        &mut self,
        id: Option<i64>,
        username: &str,
    ) -> sqlx::Result<Vec<(i64, String)>> {
        let sql = "SELECT id, username FROM users WHERE id = $1 OR username_folded = $2";
        self.pairs(sql, &[Val::Int(id.unwrap_or(0)), Val::Text(fold(username))])
            .await
    }

    pub async fn user_id(&mut self, username: &str) -> sqlx::Result<Option<i64>> {
        self.opt_i64(
            "SELECT id FROM users WHERE username = $1",
            &[Val::Text(username.into())],
        )
        .await
    }

    /// Inserts the users; returns their ids (picked by the database for rows without one, which
    /// go in one by one).
    pub async fn insert_users(&mut self, rows: Vec<BulkUser>) -> sqlx::Result<Vec<i64>> {
        const HEAD: &str = "INSERT INTO users (username, username_folded, password, email, email_folded, \
             first_name, last_name, search_key, is_staff, is_superuser, is_active, last_login, date_joined";
        let mut ids = Vec::with_capacity(rows.len());
        let mut with_ids = Vec::new();
        for u in rows {
            let key = search_key(&u.username, &u.first_name, &u.last_name);
            let (username_folded, email_folded) = (fold(&u.username), fold(&u.email));
            let vals = vec![
                Val::Text(u.username),
                Val::Text(username_folded),
                Val::Text(u.password),
                Val::Text(u.email),
                Val::Text(email_folded),
                Val::Text(u.first_name),
                Val::Text(u.last_name),
                Val::Text(key),
                Val::Bool(u.is_staff),
                Val::Bool(u.is_superuser),
                Val::Bool(u.is_active),
                Val::OptInt(u.last_login),
                Val::Int(u.date_joined),
            ];
            match u.id {
                Some(id) => {
                    ids.push(id);
                    with_ids.push(Val::Int(id));
                    with_ids.extend(vals);
                }
                None => {
                    let sql = format!(
                        "{HEAD}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id"
                    );
                    ids.push(self.i64(&sql, &vals).await?);
                }
            }
        }
        let head = HEAD.replacen("(username", "(id, username", 1) + ")";
        self.insert_rows(&head, "", 14, with_ids).await?;
        Ok(ids)
    }

    /// `(user id, group id)` pairs; pairs already there are left alone.
    pub async fn insert_user_groups(&mut self, pairs: &[(i64, i64)]) -> sqlx::Result<()> {
        let vals = pairs
            .iter()
            .flat_map(|(u, g)| [Val::Int(*u), Val::Int(*g)])
            .collect();
        self.insert_rows(
            "INSERT INTO user_groups (user_id, group_id)",
            " ON CONFLICT DO NOTHING",
            2,
            vals,
        )
        .await
    }

    pub async fn active_admins(&mut self) -> sqlx::Result<i64> {
        self.i64(COUNT_ACTIVE_ADMINS, &[]).await
    }

    // -- tokens

    /// True when this key is in use or the user has a token already.
    pub async fn token_taken(&mut self, key: &str, user_id: i64) -> sqlx::Result<bool> {
        let sql = "SELECT user_id FROM tokens WHERE digest = $1 OR user_id = $2";
        Ok(self
            .opt_i64(sql, &[Val::Text(digest(key)), Val::Int(user_id)])
            .await?
            .is_some())
    }

    /// Only the digest is stored; the key keeps working by it.
    pub async fn insert_tokens(&mut self, rows: Vec<BulkToken>) -> sqlx::Result<()> {
        let vals = rows
            .into_iter()
            .flat_map(|t| {
                [
                    Val::Text(digest(&t.key)),
                    Val::Int(t.user_id),
                    Val::Int(t.created),
                ]
            })
            .collect();
        self.insert_rows("INSERT INTO tokens (digest, user_id, created)", "", 3, vals)
            .await
    }

    // -- organizations, memberships, invitations

    /// `(id, slug)` of the organizations with this id or slug.
    pub async fn orgs_matching(
        &mut self,
        id: Option<i64>,
        slug: &str,
    ) -> sqlx::Result<Vec<(i64, String)>> {
        let sql = "SELECT id, slug FROM organizations WHERE id = $1 OR slug = $2";
        self.pairs(sql, &[Val::Int(id.unwrap_or(0)), Val::Text(slug.into())])
            .await
    }

    /// Rows of `table` whose id is optional: those with one keep it, the others get one.
    async fn insert_with_optional_ids(
        &mut self,
        table: &str,
        columns: &str,
        rows: Vec<(Option<i64>, Vec<Val>)>,
    ) -> sqlx::Result<()> {
        let Some(n) = rows.first().map(|(_, vals)| vals.len()) else {
            return Ok(());
        };
        let (with_ids, without): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.0.is_some());
        let with_ids = with_ids
            .into_iter()
            .flat_map(|(id, vals)| id.map(Val::Int).into_iter().chain(vals));
        let head = format!("INSERT INTO {table} (id, {columns})");
        self.insert_rows(&head, "", n + 1, with_ids.collect())
            .await?;
        let head = format!("INSERT INTO {table} ({columns})");
        self.insert_rows(
            &head,
            "",
            n,
            without.into_iter().flat_map(|r| r.1).collect(),
        )
        .await
    }

    pub async fn insert_orgs(&mut self, rows: Vec<BulkOrg>) -> sqlx::Result<()> {
        let rows = rows.into_iter().map(|o| {
            let vals = vec![
                Val::Text(o.slug),
                Val::Text(o.name),
                Val::Text(o.description),
                Val::Int(o.created),
                Val::Int(o.updated),
                Val::Text(o.contact),
                Val::OptInt(o.owner_id),
            ];
            (o.id, vals)
        });
        let columns = "slug, name, description, created_date, updated_date, contact, owner_id";
        self.insert_with_optional_ids("organizations", columns, rows.collect())
            .await
    }

    pub async fn set_org_owner(&mut self, org: i64, owner: i64) -> sqlx::Result<()> {
        self.exec(
            "UPDATE organizations SET owner_id = $1 WHERE id = $2",
            &[Val::Int(owner), Val::Int(org)],
        )
        .await
    }

    pub async fn membership_exists(&mut self, id: i64) -> sqlx::Result<bool> {
        let sql = "SELECT id FROM memberships WHERE id = $1";
        Ok(self.opt_i64(sql, &[Val::Int(id)]).await?.is_some())
    }

    pub async fn insert_memberships(&mut self, rows: Vec<BulkMembership>) -> sqlx::Result<()> {
        let rows = rows.into_iter().map(|m| {
            let vals = vec![
                Val::Int(m.user_id),
                Val::Int(m.organization_id),
                Val::Bool(m.is_active),
                Val::OptInt(m.joined),
                Val::Text(m.role),
            ];
            (m.id, vals)
        });
        let columns = "user_id, organization_id, is_active, joined_date, role";
        self.insert_with_optional_ids("memberships", columns, rows.collect())
            .await
    }

    /// True when this key is in use or the membership has an invitation already.
    pub async fn invitation_taken(&mut self, key: &str, membership_id: i64) -> sqlx::Result<bool> {
        let sql = "SELECT membership_id FROM invitations WHERE key = $1 OR membership_id = $2";
        Ok(self
            .opt_i64(sql, &[Val::Text(key.into()), Val::Int(membership_id)])
            .await?
            .is_some())
    }

    pub async fn insert_invitations(&mut self, rows: Vec<BulkInvitation>) -> sqlx::Result<()> {
        let vals = rows
            .into_iter()
            .flat_map(|i| {
                [
                    Val::Text(i.key),
                    Val::Int(i.created),
                    Val::OptInt(i.owner_id),
                    Val::Int(i.membership_id),
                ]
            })
            .collect();
        let head = "INSERT INTO invitations (key, created_date, owner_id, membership_id)";
        self.insert_rows(head, "", 4, vals).await
    }

    // -- the end

    /// Commits. On PostgreSQL the id sequences first move past the largest ids (explicit ids
    /// went in) and the user count deltas are folded.
    pub async fn commit(mut self) -> sqlx::Result<()> {
        if self.dialect() == Dialect::Postgres {
            for sql in [
                "SELECT setval(pg_get_serial_sequence('users', 'id'), MAX(id)) FROM users HAVING MAX(id) IS NOT NULL",
                "SELECT setval(pg_get_serial_sequence('organizations', 'id'), MAX(id)) FROM organizations HAVING MAX(id) IS NOT NULL",
                "SELECT setval(pg_get_serial_sequence('memberships', 'id'), MAX(id)) FROM memberships HAVING MAX(id) IS NOT NULL",
                "SELECT setval(pg_get_serial_sequence('groups', 'id'), MAX(id)) FROM groups HAVING MAX(id) IS NOT NULL",
                FOLD_USER_COUNT,
            ] {
                self.exec(sql, &[]).await?;
            }
        }
        match self.tx {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) {
        let _ = match self.tx {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        };
    }
}
