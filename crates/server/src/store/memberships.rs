//! Memberships: who belongs to which organization, with which role (spec §11).

use sqlx::FromRow;

use super::users::write_tx;
use super::{on_conn, on_pool, Db, UserBrief};
use crate::filters::{Bind, Kind, ListField, ListRequest, ListSpec, SqlBuf};
use crate::service::{AuditEvent, OrgId, OrgRole, UserId};
use crate::store::audit::append_event;

#[derive(Debug, Clone, FromRow)]
struct MembershipRow {
    id: i64,
    user_id: i64,
    username: String,
    first_name: String,
    last_name: String,
    organization_id: i64,
    is_active: bool,
    joined_date: Option<i64>,
    role: String,
    invitation: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MembershipRecord {
    pub id: i64,
    pub user: UserBrief,
    pub organization_id: OrgId,
    pub is_active: bool,
    pub joined_date: Option<i64>,
    pub role: OrgRole,
    pub invitation: Option<String>,
}

impl From<MembershipRow> for MembershipRecord {
    fn from(r: MembershipRow) -> Self {
        MembershipRecord {
            id: r.id,
            user: UserBrief {
                id: r.user_id,
                username: r.username,
                first_name: r.first_name,
                last_name: r.last_name,
            },
            organization_id: OrgId(r.organization_id),
            is_active: r.is_active,
            joined_date: r.joined_date,
            role: OrgRole::from_stored(&r.role),
            invitation: r.invitation,
        }
    }
}

const MEMBERSHIP_SELECT: &str = "SELECT m.id, m.user_id, u.username, u.first_name, u.last_name, m.organization_id, \
     m.is_active, m.joined_date, m.role, i.key AS invitation \
     FROM memberships m JOIN users u ON u.id = m.user_id LEFT JOIN invitations i ON i.membership_id = m.id";

/// The membership list's vocabulary (spec §4.7): 2.3.0's `user_name` and `user` (an id), the
/// newest's `user` (a username): `user` compares the id when given a number.
pub const MEMBERSHIP_LIST: ListSpec = ListSpec {
    filters: &[
        ListField {
            name: "user",
            column: "u.username",
            kind: Kind::UserRef,
        },
        ListField {
            name: "user_name",
            column: "u.username",
            kind: Kind::Text,
        },
        ListField {
            name: "role",
            column: "m.role",
            kind: Kind::Text,
        },
        ListField {
            name: "id",
            column: "m.id",
            kind: Kind::Int,
        },
    ],
    simple: &["user", "role"],
    sort: &[
        ListField {
            name: "user",
            column: "u.username",
            kind: Kind::Text,
        },
        ListField {
            name: "user_name",
            column: "u.username",
            kind: Kind::Text,
        },
        ListField {
            name: "role",
            column: "m.role",
            kind: Kind::Text,
        },
        ListField {
            name: "id",
            column: "m.id",
            kind: Kind::Int,
        },
    ],
    search: &["u.username", "m.role"],
    user_id_column: "m.user_id",
};

/// Which memberships a list shows.
#[derive(Debug, Clone, Copy)]
pub enum MembershipScope {
    All,
    /// The requester's own active memberships.
    OwnActive(UserId),
    Org {
        org: OrgId,
        only_active: bool,
    },
}

impl Db {
    /// The role of `user_id`'s *active* membership in `org_id` (an inactive one counts as none).
    pub async fn active_role(
        &self,
        user_id: UserId,
        org_id: OrgId,
    ) -> sqlx::Result<Option<OrgRole>> {
        let role = on_conn!(self, c => sqlx::query_scalar::<_, String>(
            "SELECT role FROM memberships WHERE user_id = $1 AND organization_id = $2 AND is_active")
            .bind(user_id).bind(org_id).fetch_optional(&mut *c).await)?;
        Ok(role.as_deref().map(OrgRole::from_stored))
    }

    /// When `user_id` joined `org_id` (their active membership), if they did.
    pub async fn membership_joined(
        &self,
        user_id: UserId,
        org_id: OrgId,
    ) -> sqlx::Result<Option<i64>> {
        let joined = on_conn!(self, c => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT joined_date FROM memberships WHERE user_id = $1 AND organization_id = $2 AND is_active")
            .bind(user_id).bind(org_id).fetch_optional(&mut *c).await)?;
        Ok(joined.flatten())
    }

    fn membership_where(scope: MembershipScope, sql: &mut SqlBuf) {
        sql.push(" WHERE 1=1");
        match scope {
            MembershipScope::All => {}
            MembershipScope::OwnActive(user) => {
                sql.push(" AND m.is_active AND m.user_id = ");
                sql.bind(Bind::Int(user.0));
            }
            MembershipScope::Org { org, only_active } => {
                sql.push(" AND m.organization_id = ");
                sql.bind(Bind::Int(org.0));
                if only_active {
                    sql.push(" AND m.is_active");
                }
            }
        }
    }

    pub async fn count_memberships(
        &self,
        scope: MembershipScope,
        q: &ListRequest,
    ) -> sqlx::Result<i64> {
        let mut sql =
            super::sql_start("SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id");
        Self::membership_where(scope, &mut sql);
        q.push_where(&MEMBERSHIP_LIST, self.dialect(), &mut sql);
        self.count_of(&sql).await
    }

    /// In the requested order, else newest first.
    pub async fn list_memberships(
        &self,
        scope: MembershipScope,
        q: &ListRequest,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<MembershipRecord>> {
        let mut sql = super::sql_start(MEMBERSHIP_SELECT);
        Self::membership_where(scope, &mut sql);
        q.push_where(&MEMBERSHIP_LIST, self.dialect(), &mut sql);
        q.push_order("m.id DESC", "m.id", self.dialect(), &mut sql);
        self.page_of::<MembershipRow, _>(sql, offset, limit).await
    }

    pub async fn membership(&self, id: i64) -> sqlx::Result<Option<MembershipRecord>> {
        let sql = format!("{MEMBERSHIP_SELECT} WHERE m.id = $1");
        let row: Option<MembershipRow> = on_pool!(self, p => sqlx::query_as::<_, MembershipRow>(&sql).bind(id).fetch_optional(p).await?);
        Ok(row.map(MembershipRecord::from))
    }

    /// Sets the role, with the event `ev` (the old role → the new one).
    pub async fn set_membership_role(
        &self,
        id: i64,
        role: OrgRole,
        ev: &AuditEvent,
    ) -> sqlx::Result<()> {
        // A write transaction from its start: the role read is the one replaced.
        write_tx!(self, tx => {
            let old: Option<String> = sqlx::query_scalar("SELECT role FROM memberships WHERE id = $1")
                .bind(id).fetch_optional(&mut *tx).await?;
            sqlx::query("UPDATE memberships SET role = $1 WHERE id = $2")
                .bind(role.as_str()).bind(id).execute(&mut *tx).await?;
            if old.as_deref() != Some(role.as_str()) {
                append_event!(tx, &ev.clone().change("role", old, role.as_str()))?;
            }
            tx.commit().await
        })
    }

    /// Deletes a membership and, with it, its invitation.
    pub async fn delete_membership(&self, id: i64, ev: &AuditEvent) -> sqlx::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM memberships WHERE id = $1").bind(id).execute(&mut *tx).await?;
            append_event!(tx, ev)?;
            tx.commit().await
        })
    }
}
