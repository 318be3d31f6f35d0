//! Organizations, memberships and invitations (spec §11).

use sqlx::FromRow;

use super::{is_unique_violation, now_micros, on_conn, on_pool, Db};
use crate::filters::{Bind, SqlBuf};
use crate::service::{OrgId, OrgRole, UserId};
use crate::store::bind_all;

#[derive(Debug, Clone, FromRow)]
pub struct OrgRef {
    pub id: i64,
    pub slug: String,
    pub owner_id: Option<i64>,
}

/// The 5 fields of a nested user (`BasicUserSerializer`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserBrief {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
}

#[derive(Debug, Clone, FromRow)]
struct OrgRow {
    id: i64,
    slug: String,
    name: String,
    description: String,
    created_date: i64,
    updated_date: i64,
    contact: String,
    owner_id: Option<i64>,
    owner_username: Option<String>,
    owner_first_name: Option<String>,
    owner_last_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OrgRecord {
    pub id: OrgId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub created_date: i64,
    pub updated_date: i64,
    /// JSON text.
    pub contact: String,
    pub owner: Option<UserBrief>,
}

fn brief(
    id: Option<i64>,
    username: Option<String>,
    first: Option<String>,
    last: Option<String>,
) -> Option<UserBrief> {
    Some(UserBrief {
        id: id?,
        username: username?,
        first_name: first.unwrap_or_default(),
        last_name: last.unwrap_or_default(),
    })
}

impl From<OrgRow> for OrgRecord {
    fn from(r: OrgRow) -> Self {
        OrgRecord {
            owner: brief(
                r.owner_id,
                r.owner_username,
                r.owner_first_name,
                r.owner_last_name,
            ),
            id: OrgId(r.id),
            slug: r.slug,
            name: r.name,
            description: r.description,
            created_date: r.created_date,
            updated_date: r.updated_date,
            contact: r.contact,
        }
    }
}

const ORG_SELECT: &str = "SELECT o.id, o.slug, o.name, o.description, o.created_date, o.updated_date, o.contact, \
     o.owner_id, ou.username AS owner_username, ou.first_name AS owner_first_name, ou.last_name AS owner_last_name \
     FROM organizations o LEFT JOIN users ou ON ou.id = o.owner_id";

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

/// Which memberships or invitations a list shows.
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

/// Organization fields a create or update sets; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct OrgChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub contact: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OrgWriteError {
    #[error("slug taken")]
    SlugTaken,
    #[error("already a member")]
    AlreadyMember,
    /// The invitee or the organization was deleted meanwhile.
    #[error("gone")]
    Gone,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Db {
    pub async fn org_by_slug(&self, slug: &str) -> sqlx::Result<Option<OrgRef>> {
        on_conn!(self, c => sqlx::query_as::<_, OrgRef>("SELECT id, slug, owner_id FROM organizations WHERE slug = $1")
            .bind(slug).fetch_optional(&mut *c).await)
    }

    pub async fn org_by_id(&self, id: i64) -> sqlx::Result<Option<OrgRef>> {
        on_pool!(self, p => sqlx::query_as::<_, OrgRef>("SELECT id, slug, owner_id FROM organizations WHERE id = $1")
            .bind(id).fetch_optional(p).await)
    }

    /// The role of `user_id`'s *active* membership in `org_id` (an inactive one counts as none).
    pub async fn active_role(&self, user_id: UserId, org_id: OrgId) -> sqlx::Result<Option<OrgRole>> {
        let role = on_conn!(self, c => sqlx::query_scalar::<_, String>(
            "SELECT role FROM memberships WHERE user_id = $1 AND organization_id = $2 AND is_active")
            .bind(user_id).bind(org_id).fetch_optional(&mut *c).await)?;
        Ok(role.as_deref().map(OrgRole::from_stored))
    }

    /// Organizations, newest first; `visible_to` limits them to those the user owns or has
    /// any membership row in.
    pub async fn list_orgs(
        &self,
        visible_to: Option<UserId>,
        search: &[String],
    ) -> sqlx::Result<Vec<OrgRecord>> {
        let mut sql = SqlBuf::default();
        sql.push(ORG_SELECT);
        sql.push(" WHERE 1=1");
        if let Some(user) = visible_to {
            sql.push(" AND (o.owner_id = ");
            sql.bind(Bind::Int(user.0));
            sql.push(" OR EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = o.id AND m.user_id = ");
            sql.bind(Bind::Int(user.0));
            sql.push("))");
        }
        for term in search {
            // Case-insensitive substring of the name or the owner's username.
            let pattern = format!(
                "%{}%",
                term.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            sql.push(" AND (LOWER(o.name) LIKE ");
            sql.bind(Bind::Text(pattern.clone()));
            sql.push(" ESCAPE '\\' OR LOWER(COALESCE(ou.username, '')) LIKE ");
            sql.bind(Bind::Text(pattern));
            sql.push(" ESCAPE '\\')");
        }
        sql.push(" ORDER BY o.id DESC");
        let rows: Vec<OrgRow> = on_pool!(self, p => bind_all!(sqlx::query_as::<_, OrgRow>(&sql.sql), &sql.binds).fetch_all(p).await?);
        Ok(rows.into_iter().map(OrgRecord::from).collect())
    }

    pub async fn org(&self, id: OrgId) -> sqlx::Result<Option<OrgRecord>> {
        let sql = format!("{ORG_SELECT} WHERE o.id = $1");
        let row: Option<OrgRow> = on_pool!(self, p => sqlx::query_as::<_, OrgRow>(&sql).bind(id).fetch_optional(p).await?);
        Ok(row.map(OrgRecord::from))
    }

    /// True when `user` owns `org` or has any membership row in it.
    pub async fn org_visible_to(&self, org: OrgId, user: UserId) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM organizations o WHERE o.id = $1 AND (o.owner_id = $2 OR EXISTS \
             (SELECT 1 FROM memberships m WHERE m.organization_id = o.id AND m.user_id = $2))")
            .bind(org).bind(user).fetch_one(p).await)
        .map(|n| n > 0)
    }

    pub async fn count_owned_orgs(&self, user: UserId) -> sqlx::Result<i64> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM organizations WHERE owner_id = $1")
            .bind(user).fetch_one(p).await)
    }

    /// Creates an organization owned by `owner`, with the owner's active `owner` membership.
    pub async fn create_org(&self, owner: UserId, ch: &OrgChanges) -> Result<OrgId, OrgWriteError> {
        let now = now_micros();
        let slug = ch.slug.clone().unwrap_or_default();
        let name = ch
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| slug.clone());
        let id = on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO organizations (slug, name, description, created_date, updated_date, contact, owner_id) \
                 VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id")
                .bind(&slug).bind(&name).bind(ch.description.clone().unwrap_or_default()).bind(now)
                .bind(ch.contact.clone().unwrap_or_else(|| "{}".into())).bind(owner)
                .fetch_one(&mut *tx).await;
            let id = match inserted {
                Err(e) if is_unique_violation(&e) => return Err(OrgWriteError::SlugTaken),
                other => other?,
            };
            sqlx::query("INSERT INTO memberships (user_id, organization_id, is_active, joined_date, role) \
                         VALUES ($1, $2, TRUE, $3, 'owner')")
                .bind(owner).bind(id).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            id
        });
        Ok(OrgId(id))
    }

    pub async fn update_org(&self, id: OrgId, ch: &OrgChanges) -> Result<(), OrgWriteError> {
        let result = on_pool!(self, p => sqlx::query(
            "UPDATE organizations SET slug = COALESCE($1, slug), name = COALESCE($2, name), \
             description = COALESCE($3, description), contact = COALESCE($4, contact), updated_date = $5 WHERE id = $6")
            .bind(&ch.slug).bind(&ch.name).bind(&ch.description).bind(&ch.contact).bind(now_micros()).bind(id)
            .execute(p).await.map(|_| ()));
        match result {
            Err(e) if is_unique_violation(&e) => Err(OrgWriteError::SlugTaken),
            other => Ok(other?),
        }
    }

    pub async fn slug_taken(&self, slug: &str, except: Option<OrgId>) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM organizations WHERE slug = $1 AND id <> $2")
            .bind(slug).bind(except.map_or(-1, |o| o.0)).fetch_one(p).await).map(|n| n > 0)
    }

    /// Deletes an organization; its memberships and invitations cascade.
    pub async fn delete_org(&self, id: OrgId) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM organizations WHERE id = $1").bind(id).execute(p).await.map(|_| ()))
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

    pub async fn count_memberships(&self, scope: MembershipScope) -> sqlx::Result<i64> {
        let mut sql = SqlBuf::default();
        sql.push("SELECT COUNT(*) FROM memberships m");
        Self::membership_where(scope, &mut sql);
        on_pool!(self, p => bind_all!(sqlx::query_scalar::<_, i64>(&sql.sql), &sql.binds).fetch_one(p).await)
    }

    pub async fn list_memberships(
        &self,
        scope: MembershipScope,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<MembershipRecord>> {
        let mut sql = SqlBuf::default();
        sql.push(MEMBERSHIP_SELECT);
        Self::membership_where(scope, &mut sql);
        sql.push(" ORDER BY m.id DESC LIMIT ");
        sql.bind(Bind::Int(limit));
        sql.push(" OFFSET ");
        sql.bind(Bind::Int(offset));
        let rows: Vec<MembershipRow> = on_pool!(self, p => bind_all!(sqlx::query_as::<_, MembershipRow>(&sql.sql), &sql.binds).fetch_all(p).await?);
        Ok(rows.into_iter().map(MembershipRecord::from).collect())
    }

    pub async fn membership(&self, id: i64) -> sqlx::Result<Option<MembershipRecord>> {
        let sql = format!("{MEMBERSHIP_SELECT} WHERE m.id = $1");
        let row: Option<MembershipRow> = on_pool!(self, p => sqlx::query_as::<_, MembershipRow>(&sql).bind(id).fetch_optional(p).await?);
        Ok(row.map(MembershipRecord::from))
    }

    pub async fn set_membership_role(&self, id: i64, role: OrgRole) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE memberships SET role = $1 WHERE id = $2")
            .bind(role.as_str()).bind(id).execute(p).await.map(|_| ()))
    }

    /// Deletes a membership and, with it, its invitation.
    pub async fn delete_membership(&self, id: i64) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM memberships WHERE id = $1").bind(id).execute(p).await.map(|_| ()))
    }

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
        let mut sql = SqlBuf::default();
        sql.push("SELECT COUNT(*) FROM invitations i JOIN memberships m ON m.id = i.membership_id");
        Self::invitation_where(scope, &mut sql);
        on_pool!(self, p => bind_all!(sqlx::query_scalar::<_, i64>(&sql.sql), &sql.binds).fetch_one(p).await)
    }

    pub async fn list_invitations(
        &self,
        scope: InvitationScope,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<InvitationRecord>> {
        let mut sql = SqlBuf::default();
        sql.push(INVITATION_SELECT);
        Self::invitation_where(scope, &mut sql);
        sql.push(" ORDER BY i.created_date DESC, i.key LIMIT ");
        sql.bind(Bind::Int(limit));
        sql.push(" OFFSET ");
        sql.bind(Bind::Int(offset));
        let rows: Vec<InvitationRow> = on_pool!(self, p => bind_all!(sqlx::query_as::<_, InvitationRow>(&sql.sql), &sql.binds).fetch_all(p).await?);
        Ok(rows.into_iter().map(InvitationRecord::from).collect())
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
