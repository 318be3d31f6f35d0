//! Invitations, accepted at once (spec §11): each one creates an active membership.

use sqlx::FromRow;

use super::orgs::brief;
use super::{is_unique_violation, now_micros, on_pool, Db, OrgWriteError, UserBrief};
use crate::filters::{Bind, SqlBuf};
use crate::service::{OrgId, OrgRole, UserId};

#[derive(Debug, Clone, FromRow)]
struct InvitationRow {
    key: String,
    created_date: i64,
    owner_id: Option<i64>,
    owner_username: Option<String>,
    owner_first_name: Option<String>,
    owner_last_name: Option<String>,
    role: String,
    user_id: i64,
    username: String,
    first_name: String,
    last_name: String,
    organization_id: i64,
}

#[derive(Debug, Clone)]
pub struct InvitationRecord {
    pub key: String,
    pub created_date: i64,
    pub owner: Option<UserBrief>,
    pub role: OrgRole,
    pub user: UserBrief,
    pub organization_id: OrgId,
}

impl From<InvitationRow> for InvitationRecord {
    fn from(r: InvitationRow) -> Self {
        InvitationRecord {
            owner: brief(
                r.owner_id,
                r.owner_username,
                r.owner_first_name,
                r.owner_last_name,
            ),
            key: r.key,
            created_date: r.created_date,
            role: OrgRole::from_stored(&r.role),
            user: UserBrief {
                id: r.user_id,
                username: r.username,
                first_name: r.first_name,
                last_name: r.last_name,
            },
            organization_id: OrgId(r.organization_id),
        }
    }
}

const INVITATION_SELECT: &str = "SELECT i.key, i.created_date, i.owner_id, ou.username AS owner_username, \
     ou.first_name AS owner_first_name, ou.last_name AS owner_last_name, m.role, m.user_id, u.username, \
     u.first_name, u.last_name, m.organization_id \
     FROM invitations i JOIN memberships m ON m.id = i.membership_id JOIN users u ON u.id = m.user_id \
     LEFT JOIN users ou ON ou.id = i.owner_id";

/// Which invitations a list shows.
#[derive(Debug, Clone, Copy)]
pub enum InvitationScope {
    All,
    /// Invitations the user sent or received, optionally within one organization.
    Involving {
        user: UserId,
        org: Option<OrgId>,
    },
    Org(OrgId),
}

impl Db {
    fn invitation_where(scope: InvitationScope, sql: &mut SqlBuf) {
        sql.push(" WHERE 1=1");
        match scope {
            InvitationScope::All => {}
            InvitationScope::Org(org) => {
                sql.push(" AND m.organization_id = ");
                sql.bind(Bind::Int(org.0));
            }
            InvitationScope::Involving { user, org } => {
                sql.push(" AND (i.owner_id = ");
                sql.bind(Bind::Int(user.0));
                sql.push(" OR m.user_id = ");
                sql.bind(Bind::Int(user.0));
                sql.push(")");
                if let Some(org) = org {
                    sql.push(" AND m.organization_id = ");
                    sql.bind(Bind::Int(org.0));
                }
            }
        }
    }

    pub async fn count_invitations(&self, scope: InvitationScope) -> sqlx::Result<i64> {
        let mut sql = super::sql_start(
            "SELECT COUNT(*) FROM invitations i JOIN memberships m ON m.id = i.membership_id",
        );
        Self::invitation_where(scope, &mut sql);
        self.count_of(&sql).await
    }

    /// Newest first.
    pub async fn list_invitations(
        &self,
        scope: InvitationScope,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<InvitationRecord>> {
        let mut sql = super::sql_start(INVITATION_SELECT);
        Self::invitation_where(scope, &mut sql);
        sql.push(" ORDER BY i.created_date DESC, i.key");
        self.page_of::<InvitationRow, _>(sql, offset, limit).await
    }

    pub async fn invitation(&self, key: &str) -> sqlx::Result<Option<InvitationRecord>> {
        let sql = format!("{INVITATION_SELECT} WHERE i.key = $1");
        let row: Option<InvitationRow> = on_pool!(self, p => sqlx::query_as::<_, InvitationRow>(&sql).bind(key).fetch_optional(p).await?);
        Ok(row.map(InvitationRecord::from))
    }

    /// Creates an invitation and its membership, accepted at once (CVAT's default
    /// `ORG_INVITATION_CONFIRM = 'No'`): the membership is active, joined now.
    pub async fn create_invitation(
        &self,
        key: &str,
        owner: UserId,
        org: OrgId,
        invitee: UserId,
        role: OrgRole,
    ) -> Result<(), OrgWriteError> {
        let now = now_micros();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO memberships (user_id, organization_id, is_active, joined_date, role) \
                 VALUES ($1, $2, TRUE, $3, $4) RETURNING id")
                .bind(invitee).bind(org).bind(now).bind(role.as_str()).fetch_one(&mut *tx).await;
            let membership = match inserted {
                Err(e) if is_unique_violation(&e) => return Err(OrgWriteError::AlreadyMember),
                Err(sqlx::Error::Database(d)) if d.is_foreign_key_violation() => return Err(OrgWriteError::Gone),
                other => other?,
            };
            sqlx::query("INSERT INTO invitations (key, created_date, owner_id, membership_id) VALUES ($1, $2, $3, $4)")
                .bind(key).bind(now).bind(owner).bind(membership).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }
}
