//! Invitations (spec §4): each one has a membership, active once accepted. Creating one may
//! create the invitee's placeholder account and queue the invitation mail, all in one
//! transaction; so do the other writes that send mail (resend).

use sqlx::FromRow;

use super::orgs::brief;
use super::outbox::insert_mail;
use super::users::{search_key, write_tx, FOLD_USER_COUNT};
use super::{
    fold, is_unique_violation, now_micros, on_pool, Db, Dialect, NewMail, OrgWriteError, UserBrief,
};
use crate::filters::{Bind, Kind, ListField, ListRequest, ListSpec, SqlBuf};
use crate::service::{AuditEvent, OrgId, OrgRole, UserId};
use crate::store::audit::append_event;

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
    sent_date: Option<i64>,
    accepted: bool,
    org_slug: String,
    user_email: String,
    membership_id: i64,
}

#[derive(Debug, Clone)]
pub struct InvitationRecord {
    pub key: String,
    pub created_date: i64,
    pub owner: Option<UserBrief>,
    pub role: OrgRole,
    pub user: UserBrief,
    pub organization_id: OrgId,
    /// When the invitation mail was last queued; `None`: never (accepted at creation).
    pub sent_date: Option<i64>,
    /// The membership is active.
    pub accepted: bool,
    pub org_slug: String,
    /// The invitee's stored address (where the mail goes).
    pub user_email: String,
    pub membership_id: i64,
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
            sent_date: r.sent_date,
            accepted: r.accepted,
            org_slug: r.org_slug,
            user_email: r.user_email,
            membership_id: r.membership_id,
        }
    }
}

/// The invitation list's vocabulary (spec §4.7; both generations).
pub const INVITATION_LIST: ListSpec = ListSpec {
    filters: &[
        ListField {
            name: "owner",
            column: "ou.username",
            kind: Kind::Text,
        },
        ListField {
            name: "user_id",
            column: "m.user_id",
            kind: Kind::Int,
        },
        ListField {
            name: "accepted",
            column: "m.is_active",
            kind: Kind::Bool,
        },
    ],
    simple: &["owner", "user_id", "accepted"],
    sort: &[
        ListField {
            name: "owner",
            column: "ou.username",
            kind: Kind::Text,
        },
        ListField {
            name: "user_id",
            column: "m.user_id",
            kind: Kind::Int,
        },
        ListField {
            name: "accepted",
            column: "m.is_active",
            kind: Kind::Bool,
        },
        ListField {
            name: "created_date",
            column: "i.created_date",
            kind: Kind::Int,
        },
    ],
    search: &["ou.username"],
    user_id_column: "m.user_id",
};

const INVITATION_FROM: &str = " FROM invitations i JOIN memberships m ON m.id = i.membership_id \
     JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.organization_id \
     LEFT JOIN users ou ON ou.id = i.owner_id";

const INVITATION_SELECT: &str = "SELECT i.key, i.created_date, i.owner_id, ou.username AS owner_username, \
     ou.first_name AS owner_first_name, ou.last_name AS owner_last_name, m.role, m.user_id, u.username, \
     u.first_name, u.last_name, m.organization_id, i.sent_date, m.is_active AS accepted, o.slug AS org_slug, \
     u.email AS user_email, m.id AS membership_id \
     FROM invitations i JOIN memberships m ON m.id = i.membership_id JOIN users u ON u.id = m.user_id \
     JOIN organizations o ON o.id = m.organization_id LEFT JOIN users ou ON ou.id = i.owner_id";

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

    pub async fn count_invitations(
        &self,
        scope: InvitationScope,
        q: &ListRequest,
    ) -> sqlx::Result<i64> {
        let mut sql = super::sql_start("SELECT COUNT(*)");
        sql.push(INVITATION_FROM);
        Self::invitation_where(scope, &mut sql);
        q.push_where(&INVITATION_LIST, self.dialect(), &mut sql);
        self.count_of(&sql).await
    }

    /// In the requested order, else newest first.
    pub async fn list_invitations(
        &self,
        scope: InvitationScope,
        q: &ListRequest,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<InvitationRecord>> {
        let mut sql = super::sql_start(INVITATION_SELECT);
        Self::invitation_where(scope, &mut sql);
        q.push_where(&INVITATION_LIST, self.dialect(), &mut sql);
        q.push_order("i.created_date DESC", "i.key", self.dialect(), &mut sql);
        self.page_of::<InvitationRow, _>(sql, offset, limit).await
    }

    pub async fn invitation(&self, key: &str) -> sqlx::Result<Option<InvitationRecord>> {
        let sql = format!("{INVITATION_SELECT} WHERE i.key = $1");
        let row: Option<InvitationRow> = on_pool!(self, p => sqlx::query_as::<_, InvitationRow>(&sql).bind(key).fetch_optional(p).await?);
        Ok(row.map(InvitationRecord::from))
    }

    /// Creates an invitation and its membership (active and joined now when `accepted`), the
    /// invitee's placeholder account when it has none, and the invitation mail, in one
    /// transaction that serializes with every other user write: all of it or nothing.
    /// With the event `ev` (its target's id: the new membership's).
    pub async fn create_invitation(
        &self,
        new: &NewInvitation<'_>,
        ev: &AuditEvent,
    ) -> Result<(), OrgWriteError> {
        let now = now_micros();
        let joined = new.accepted.then_some(now);
        let sent = new.mail.is_some().then_some(now);
        write_tx!(self, tx => {
            let invitee = match &new.invitee {
                Invitee::Existing(id) => *id,
                Invitee::Placeholder { email, password_hash } => {
                    let name = fold(email);
                    let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username_folded = $1")
                        .bind(&name).fetch_one(&mut *tx).await?;
                    if taken > 0 {
                        return Err(OrgWriteError::UsernameTaken);
                    }
                    let inserted = sqlx::query_scalar::<_, i64>(
                        "INSERT INTO users (username, username_folded, password, email, email_folded, search_key, \
                         is_staff, is_superuser, is_active, date_joined, created_via) \
                         VALUES ($1, $1, $2, $1, $1, $3, FALSE, FALSE, TRUE, $4, 'invitation') RETURNING id")
                        .bind(&name).bind(password_hash).bind(search_key(&name, "", ""))
                        .bind(now).fetch_one(&mut *tx).await;
                    let id = match inserted {
                        Err(e) if is_unique_violation(&e) => return Err(OrgWriteError::UsernameTaken),
                        other => other?,
                    };
                    sqlx::query("INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = 'user'")
                        .bind(id).execute(&mut *tx).await?;
                    if self.dialect() == Dialect::Postgres {
                        sqlx::query(FOLD_USER_COUNT).execute(&mut *tx).await?;
                    }
                    UserId(id)
                }
            };
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO memberships (user_id, organization_id, is_active, joined_date, role) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id")
                .bind(invitee).bind(new.org).bind(new.accepted).bind(joined).bind(new.role.as_str())
                .fetch_one(&mut *tx).await;
            let membership = match inserted {
                Err(e) if is_unique_violation(&e) => return Err(OrgWriteError::AlreadyMember),
                Err(sqlx::Error::Database(d)) if d.is_foreign_key_violation() => return Err(OrgWriteError::Gone),
                other => other?,
            };
            sqlx::query("INSERT INTO invitations (key, created_date, owner_id, membership_id, sent_date) \
                         VALUES ($1, $2, $3, $4, $5)")
                .bind(new.key).bind(now).bind(new.owner).bind(membership).bind(sent)
                .execute(&mut *tx).await?;
            if let Some(mail) = new.mail {
                insert_mail!(&mut *tx, mail)?;
            }
            let mut ev = ev.clone().detail("role", new.role.as_str()).detail("accepted", new.accepted);
            ev.target_id = Some(membership);
            append_event!(tx, &ev)?;
            tx.commit().await?;
            Ok::<(), OrgWriteError>(())
        })
    }

    /// Activates the invitation's membership, joined now (or at `joined`). `false` when it was
    /// active already or is gone.
    pub async fn accept_invitation(
        &self,
        key: &str,
        joined: Option<i64>,
        ev: &AuditEvent,
    ) -> sqlx::Result<bool> {
        let joined = joined.unwrap_or_else(now_micros);
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let accepted = sqlx::query(
                "UPDATE memberships SET is_active = TRUE, joined_date = $1 WHERE NOT is_active AND id = \
                 (SELECT membership_id FROM invitations WHERE key = $2)")
                .bind(joined).bind(key).execute(&mut *tx).await?.rows_affected() > 0;
            if accepted {
                append_event!(tx, ev)?;
                tx.commit().await?;
            }
            Ok(accepted)
        })
    }

    /// Deletes the invitation's membership, and the invitation with it (decline).
    pub async fn decline_invitation(&self, key: &str, ev: &AuditEvent) -> sqlx::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "DELETE FROM memberships WHERE id = (SELECT membership_id FROM invitations WHERE key = $1)")
                .bind(key).execute(&mut *tx).await?;
            append_event!(tx, ev)?;
            tx.commit().await
        })
    }

    /// Deletes the invitation only: its membership stays as it is (CVAT does the same).
    pub async fn delete_invitation(&self, key: &str, ev: &AuditEvent) -> sqlx::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM invitations WHERE key = $1").bind(key).execute(&mut *tx).await?;
            append_event!(tx, ev)?;
            tx.commit().await
        })
    }

    /// Sends the invitation again: `sent_date` now and the mail queued, in one transaction.
    /// `false` when the invitation is gone or was accepted meanwhile.
    pub async fn resend_invitation(
        &self,
        key: &str,
        mail: &NewMail,
        ev: &AuditEvent,
    ) -> sqlx::Result<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let updated = sqlx::query(
                "UPDATE invitations SET sent_date = $1 WHERE key = $2 AND membership_id IN \
                 (SELECT id FROM memberships WHERE NOT is_active)")
                .bind(now_micros()).bind(key).execute(&mut *tx).await?;
            if updated.rows_affected() == 0 {
                return Ok(false);
            }
            insert_mail!(&mut *tx, mail)?;
            append_event!(tx, ev)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Counts a resend request of `user` unless it already made `limit` within `window`
    /// microseconds; then answers the time of the oldest of those (when one may retry).
    /// Counted in the database, so replicas share the limit; one user's requests serialize.
    pub async fn count_resend(
        &self,
        user: UserId,
        window: i64,
        limit: i64,
    ) -> sqlx::Result<Result<(), i64>> {
        let now = now_micros();
        let lock = match self.dialect() {
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM (SELECT id FROM users WHERE id = $1 FOR UPDATE) u"
            }
            // The DELETE below takes SQLite's write lock first.
            Dialect::Sqlite => "SELECT COUNT(*) FROM users WHERE id = $1",
        };
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM invitation_resends WHERE at <= $1")
                .bind(now - window).execute(&mut *tx).await?;
            sqlx::query_scalar::<_, i64>(lock).bind(user).fetch_one(&mut *tx).await?;
            let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MIN(at) FROM invitation_resends WHERE user_id = $1")
                .bind(user).fetch_one(&mut *tx).await?;
            if count >= limit {
                tx.commit().await?;
                return Ok(Err(oldest.unwrap_or(now)));
            }
            sqlx::query("INSERT INTO invitation_resends (user_id, at) VALUES ($1, $2)")
                .bind(user).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Ok(()))
        })
    }
}

/// Who an invitation is for.
#[derive(Debug, Clone)]
pub enum Invitee {
    Existing(UserId),
    /// No account has the address: one is made (spec §4.3), named by the lowercased address,
    /// with an unusable password hash (`!...`) and `created_via = 'invitation'`.
    Placeholder {
        email: String,
        password_hash: String,
    },
}

/// An invitation to create; `mail` is queued with it (and sets `sent_date`).
#[derive(Debug, Clone)]
pub struct NewInvitation<'a> {
    pub key: &'a str,
    pub owner: UserId,
    pub org: OrgId,
    pub invitee: Invitee,
    pub role: OrgRole,
    pub accepted: bool,
    pub mail: Option<&'a NewMail>,
}
