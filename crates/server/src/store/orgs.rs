//! Organizations (spec §11); their memberships and invitations are in `memberships` and
//! `invitations`.

use sqlx::FromRow;

use super::users::write_tx;
use super::{is_unique_violation, now_micros, on_conn, on_pool, Db};
use crate::filters::{Bind, SqlBuf};
use crate::service::{AuditEvent, OrgId, UserId};
use crate::store::audit::append_event;
use crate::store::bind_all;

#[derive(Debug, Clone, FromRow)]
pub struct OrgRef {
    pub id: i64,
    pub slug: String,
    pub owner_id: Option<i64>,
    /// Since when the organization requires TOTP of its members (`None`: it does not).
    pub mfa_required_since: Option<i64>,
    pub mfa_grace_period_hours: i64,
}

/// One organization whose policy covers a user: slug, since when, grace hours, when the user
/// joined.
pub type OrgMfaRule = (String, i64, i64, Option<i64>);

const ORG_REF: &str =
    "SELECT id, slug, owner_id, mfa_required_since, mfa_grace_period_hours FROM organizations";

/// The 5 fields of a nested user (`BasicUserSerializer`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserBrief {
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
}

impl From<&super::UserRecord> for UserBrief {
    fn from(u: &super::UserRecord) -> Self {
        UserBrief {
            id: u.id,
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
        }
    }
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

pub(super) fn brief(
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
    /// A placeholder account's name (the address) is another user's username.
    #[error("username taken")]
    UsernameTaken,
    /// The invitee or the organization was deleted meanwhile.
    #[error("gone")]
    Gone,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Db {
    pub async fn org_by_slug(&self, slug: &str) -> sqlx::Result<Option<OrgRef>> {
        on_conn!(self, c => sqlx::query_as::<_, OrgRef>(&format!("{ORG_REF} WHERE slug = $1"))
            .bind(slug).fetch_optional(&mut *c).await)
    }

    /// Sets the organization's second-factor policy: required (keeping the first date it was)
    /// or not, and the grace period.
    pub async fn set_org_mfa_policy(
        &self,
        id: OrgId,
        require: bool,
        grace_hours: i64,
        ev: &AuditEvent,
    ) -> sqlx::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "UPDATE organizations SET mfa_required_since = CASE WHEN $1 THEN COALESCE(mfa_required_since, $2) ELSE NULL END, \
                 mfa_grace_period_hours = $3 WHERE id = $4")
                .bind(require).bind(now_micros()).bind(grace_hours).bind(id).execute(&mut *tx).await?;
            let ev = ev.clone().detail("require", require).detail("grace_period_hours", grace_hours);
            append_event!(tx, &ev)?;
            tx.commit().await
        })
    }

    /// The policies of the organizations `user_id` is an active member of that require TOTP.
    pub async fn org_mfa_rules_of(&self, user_id: UserId) -> sqlx::Result<Vec<OrgMfaRule>> {
        on_pool!(self, p => sqlx::query_as::<_, OrgMfaRule>(
            "SELECT o.slug, o.mfa_required_since, o.mfa_grace_period_hours, m.joined_date FROM organizations o \
             JOIN memberships m ON m.organization_id = o.id \
             WHERE m.user_id = $1 AND m.is_active AND o.mfa_required_since IS NOT NULL ORDER BY o.slug")
            .bind(user_id).fetch_all(p).await)
    }

    pub async fn org_by_id(&self, id: i64) -> sqlx::Result<Option<OrgRef>> {
        on_pool!(self, p => sqlx::query_as::<_, OrgRef>(&format!("{ORG_REF} WHERE id = $1"))
            .bind(id).fetch_optional(p).await)
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
    pub async fn create_org(
        &self,
        owner: UserId,
        ch: &OrgChanges,
        ev: &AuditEvent,
    ) -> Result<OrgId, OrgWriteError> {
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
            let mut ev = ev.clone().target("organization", Some(id), &slug).in_org(OrgId(id));
            for (field, value) in [("slug", &slug), ("name", &name)] {
                ev = ev.change(field, serde_json::Value::Null, value.as_str());
            }
            append_event!(tx, &ev)?;
            tx.commit().await?;
            id
        });
        Ok(OrgId(id))
    }

    /// Applies `ch`, with the event `ev` naming the fields that changed (old → new).
    pub async fn update_org(
        &self,
        id: OrgId,
        ch: &OrgChanges,
        ev: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        // A write transaction from its start: the values read are the ones replaced.
        write_tx!(self, tx => {
            let old: Option<(String, String, String, String)> = sqlx::query_as(
                "SELECT slug, name, description, contact FROM organizations WHERE id = $1")
                .bind(id).fetch_optional(&mut *tx).await?;
            let updated = sqlx::query(
                "UPDATE organizations SET slug = COALESCE($1, slug), name = COALESCE($2, name), \
                 description = COALESCE($3, description), contact = COALESCE($4, contact), updated_date = $5 WHERE id = $6")
                .bind(&ch.slug).bind(&ch.name).bind(&ch.description).bind(&ch.contact).bind(now_micros()).bind(id)
                .execute(&mut *tx).await;
            match updated {
                Err(e) if is_unique_violation(&e) => return Err(OrgWriteError::SlugTaken),
                other => other?,
            };
            let Some((slug, name, description, contact)) = old else {
                return Ok(());
            };
            let mut ev = ev.clone();
            for (field, old, new) in [
                ("slug", slug, &ch.slug),
                ("name", name, &ch.name),
                ("description", description, &ch.description),
                ("contact", contact, &ch.contact),
            ] {
                if let Some(new) = new.as_ref().filter(|n| **n != old) {
                    ev = ev.change(field, old, new.as_str());
                }
            }
            if !ev.changes.is_empty() {
                append_event!(tx, &ev)?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn slug_taken(&self, slug: &str, except: Option<OrgId>) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM organizations WHERE slug = $1 AND id <> $2")
            .bind(slug).bind(except.map_or(-1, |o| o.0)).fetch_one(p).await).map(|n| n > 0)
    }

    /// Deletes an organization; its memberships and invitations cascade.
    pub async fn delete_org(&self, id: OrgId, ev: &AuditEvent) -> sqlx::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM organizations WHERE id = $1").bind(id).execute(&mut *tx).await?;
            append_event!(tx, ev)?;
            tx.commit().await
        })
    }
}
