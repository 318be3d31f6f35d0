//! Writes to users and their groups: each one transaction that serializes with every other
//! user write, so that invariants such as "an active admin remains" hold (decision 6).

use super::{search_key, NewUser, UserRecord, UserRow, WriteError, FOLD_USER_COUNT, USER_COLUMNS};
use crate::filters::Dialect;
use crate::service::{AuditEvent, UserId, UserPatch};
use crate::store::audit::append_event;
use crate::store::outbox::insert_mail;
use crate::store::{fold, is_unique_violation, now_micros, on_pool, Db, NewMail};

/// Makes the mail that goes out with a new account, given its id.
pub type MailForNewUser<'a> = &'a (dyn Fn(i64) -> Option<NewMail> + Send + Sync);

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

pub(in crate::store) use write_tx;

pub(in crate::store) const COUNT_ACTIVE_ADMINS: &str =
    "SELECT COUNT(*) FROM users u JOIN user_groups ug ON ug.user_id = u.id \
     JOIN groups g ON g.id = ug.group_id WHERE g.name = 'admin' AND u.is_active AND u.blocked_date IS NULL";

const COUNT_ACTIVE_STAFF_ADMINS: &str =
    "SELECT COUNT(*) FROM users u JOIN user_groups ug ON ug.user_id = u.id \
     JOIN groups g ON g.id = ug.group_id WHERE g.name = 'admin' AND u.is_active AND u.is_staff \
     AND u.blocked_date IS NULL";

/// 1 when user `$1` is an active, unblocked admin, else 0.
const WAS_ACTIVE_ADMIN: &str =
    "SELECT COUNT(*) FROM users u JOIN user_groups ug ON ug.user_id = u.id JOIN groups g ON g.id = ug.group_id \
     WHERE u.id = $1 AND u.is_active AND u.blocked_date IS NULL AND g.name = 'admin'";

impl Db {
    pub async fn count_active_admins(&self) -> sqlx::Result<i64> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>(COUNT_ACTIVE_ADMINS).fetch_one(p).await)
    }

    /// Applies `changes` atomically: row, then the superuser+staff ⇒ `admin` rule (CVAT's
    /// post-save signal), then `groups` (replacing, as DRF sets m2m after saving), then the
    /// audit event `ev` with the fields that changed (old → new), when any did.
    /// Refuses, rolling back, when no active admin would remain.
    pub async fn update_user(
        &self,
        id: UserId,
        ch: &UserPatch,
        ev: &AuditEvent,
    ) -> Result<UserRecord, WriteError> {
        self.update_user_mailing(id, ch, None, ev).await
    }

    /// `update_user`, queueing `mail` (a confirmation of the new address) in the same
    /// transaction.
    pub async fn update_user_mailing(
        &self,
        id: UserId,
        ch: &UserPatch,
        mail: Option<&NewMail>,
        ev: &AuditEvent,
    ) -> Result<UserRecord, WriteError> {
        write_tx!(self, tx => {
            // Read inside the transaction: unchanged columns keep what concurrent writers stored.
            let current: UserRow = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"))
                .bind(id).fetch_optional(&mut *tx).await?.ok_or(WriteError::NotFound)?;
            let username = ch.username.clone().unwrap_or(current.username.clone());
            let first = ch.first_name.clone().unwrap_or(current.first_name.clone());
            let last = ch.last_name.clone().unwrap_or(current.last_name.clone());
            let email = ch.email.clone().unwrap_or(current.email.clone());
            let is_staff = ch.is_staff.unwrap_or(current.is_staff);
            let is_superuser = ch.is_superuser.unwrap_or(current.is_superuser);
            let is_active = ch.is_active.unwrap_or(current.is_active);
            let email_verified = ch.email_verified.unwrap_or(current.email_verified);
            let must_change = ch.must_change_password.unwrap_or(current.must_change_password);
            let key = search_key(&username, &first, &last);
            let was_admin: i64 = sqlx::query_scalar(WAS_ACTIVE_ADMIN).bind(id).fetch_one(&mut *tx).await?;
            let mut ev = ev.clone();
            ev.target_id = Some(id.0);
            ev.target_type = "user".into();
            ev.target_name = current.username.clone();
            let mut diff = |field: &str, old: serde_json::Value, new: serde_json::Value| {
                if old != new {
                    ev.changes.insert(field.into(), serde_json::json!({"old": old, "new": new}));
                }
            };
            diff("username", current.username.clone().into(), username.clone().into());
            diff("first_name", current.first_name.clone().into(), first.clone().into());
            diff("last_name", current.last_name.clone().into(), last.clone().into());
            diff("email", current.email.clone().into(), email.clone().into());
            diff("is_staff", current.is_staff.into(), is_staff.into());
            diff("is_superuser", current.is_superuser.into(), is_superuser.into());
            diff("is_active", current.is_active.into(), is_active.into());
            diff("email_verified", current.email_verified.into(), email_verified.into());
            diff("must_change_password", current.must_change_password.into(), must_change.into());
            if username != current.username {
                let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username = $1 AND id <> $2")
                    .bind(&username).bind(id).fetch_one(&mut *tx).await?;
                if taken > 0 {
                    return Err(WriteError::UsernameTaken);
                }
            }
            let updated = sqlx::query(
                "UPDATE users SET username = $1, username_folded = $2, first_name = $3, last_name = $4, \
                 email = $5, email_folded = $6, search_key = $7, is_staff = $8, is_superuser = $9, is_active = $10, \
                 email_verified = $12, verification_sent_at = COALESCE($13, verification_sent_at), \
                 must_change_password = $14, modified_date = $15, \
                 external_id = CASE WHEN $16 THEN $17 ELSE external_id END WHERE id = $11")
                .bind(&username).bind(fold(&username)).bind(&first).bind(&last).bind(&email)
                .bind(fold(&email)).bind(&key).bind(is_staff).bind(is_superuser).bind(is_active).bind(id)
                .bind(email_verified).bind(mail.map(|_| now_micros())).bind(must_change)
                .bind(now_micros()).bind(ch.external_id.is_some()).bind(ch.external_id.clone().flatten())
                .execute(&mut *tx).await;
            match updated {
                Err(e) if is_unique_violation(&e) => return Err(WriteError::UsernameTaken),
                Err(e) => return Err(e.into()),
                Ok(r) if r.rows_affected() == 0 => return Err(WriteError::NotFound),
                Ok(_) => {}
            }
            if let Some(mail) = mail {
                insert_mail!(&mut *tx, mail)?;
            }
            if is_superuser && is_staff {
                sqlx::query("INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = 'admin' \
                             ON CONFLICT DO NOTHING").bind(id).execute(&mut *tx).await?;
            }
            if let Some(groups) = &ch.groups {
                let old: Vec<String> = sqlx::query_scalar(
                    "SELECT g.name FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE ug.user_id = $1 ORDER BY g.name")
                    .bind(id).fetch_all(&mut *tx).await?;
                let mut new = groups.clone();
                new.sort();
                new.dedup();
                if old != new {
                    ev.changes.insert("groups".into(), serde_json::json!({"old": old, "new": new}));
                }
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
                // Without the staff flag an admin gets the basic serializer and can never set
                // the flag again (spec §5.3), so the last staff admin keeps it.
                if current.is_staff && !is_staff {
                    let staff: i64 = sqlx::query_scalar(COUNT_ACTIVE_STAFF_ADMINS).fetch_one(&mut *tx).await?;
                    if staff == 0 {
                        return Err(WriteError::LastAdmin(
                            "This is the last active admin with the staff flag: it cannot drop is_staff, \
                             which only staff can set again. Make another active admin staff first."));
                    }
                }
            }
            if !ev.changes.is_empty() {
                append_event!(tx, &ev)?;
            }
            tx.commit().await?;
            Ok::<(), WriteError>(())
        })?;
        self.user_by_id(id.0).await?.ok_or(WriteError::NotFound)
    }

    /// Hard delete; tokens, sessions, groups and memberships cascade, owned organizations stay
    /// ownerless. Refuses to delete the last active admin.
    pub async fn delete_user(&self, id: UserId, ev: &AuditEvent) -> Result<(), WriteError> {
        write_tx!(self, tx => {
            let was_admin: i64 = sqlx::query_scalar(WAS_ACTIVE_ADMIN).bind(id).fetch_one(&mut *tx).await?;
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
            append_event!(tx, ev)?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Creates a user with its groups atomically, with the audit event `ev` (its target: the
    /// new user); `UsernameTaken` on a case-insensitive clash.
    pub async fn create_user(
        &self,
        new: &NewUser,
        ev: &AuditEvent,
    ) -> Result<UserRecord, WriteError> {
        self.create_user_mailing(new, None, ev).await
    }

    /// `create_user`, queueing the mail `mail` makes for the new id (a confirmation of the
    /// address) in the same transaction.
    pub async fn create_user_mailing(
        &self,
        new: &NewUser,
        mail: Option<MailForNewUser<'_>>,
        ev: &AuditEvent,
    ) -> Result<UserRecord, WriteError> {
        let now = now_micros();
        let id: i64 = write_tx!(self, tx => {
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username_folded = $1")
                .bind(fold(&new.username)).fetch_one(&mut *tx).await?;
            if taken > 0 {
                return Err(WriteError::UsernameTaken);
            }
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO users (username, username_folded, password, email, email_folded, first_name, last_name, \
                 search_key, is_staff, is_superuser, is_active, last_login, date_joined, created_via, email_verified, \
                 verification_sent_at, must_change_password, external_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $13, $11, $12, $14, $15, $16, $17, $18) RETURNING id")
                .bind(&new.username).bind(fold(&new.username)).bind(&new.password_hash).bind(&new.email)
                .bind(fold(&new.email)).bind(&new.first_name).bind(&new.last_name)
                .bind(search_key(&new.username, &new.first_name, &new.last_name))
                .bind(new.is_staff).bind(new.is_superuser).bind(new.logged_in.then_some(now)).bind(now).bind(new.is_active)
                .bind(new.created_via).bind(new.email_verified).bind(mail.map(|_| now))
                .bind(new.must_change_password).bind(&new.external_id).fetch_one(&mut *tx).await;
            let id = match inserted {
                Err(e) if is_unique_violation(&e) => return Err(WriteError::UsernameTaken),
                other => other?,
            };
            if let Some(mail) = mail.and_then(|make| make(id)) {
                insert_mail!(&mut *tx, &mail)?;
            }
            for name in &new.groups {
                sqlx::query("INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = $2 \
                             ON CONFLICT DO NOTHING").bind(id).bind(name).execute(&mut *tx).await?;
            }
            if self.dialect() == Dialect::Postgres {
                sqlx::query(FOLD_USER_COUNT).execute(&mut *tx).await?;
            }
            let ev = new_user_event(ev, id, new);
            append_event!(tx, &ev)?;
            tx.commit().await?;
            id
        });
        self.user_by_id(id).await?.ok_or(WriteError::NotFound)
    }

    /// Registration with the address of an invitation's placeholder account (spec §3.2): that
    /// same row (same id, memberships kept) gets the new username, password and names, as
    /// `created_via = 'registration'`. `NotFound` when the row is no longer a placeholder
    /// (claimed meanwhile); `UsernameTaken` on a clash with another user.
    pub async fn claim_placeholder(
        &self,
        id: UserId,
        new: &NewUser,
        mail: Option<MailForNewUser<'_>>,
        ev: &AuditEvent,
    ) -> Result<UserRecord, WriteError> {
        let now = now_micros();
        write_tx!(self, tx => {
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username_folded = $1 AND id <> $2")
                .bind(fold(&new.username)).bind(id).fetch_one(&mut *tx).await?;
            if taken > 0 {
                return Err(WriteError::UsernameTaken);
            }
            let updated = sqlx::query(
                "UPDATE users SET username = $1, username_folded = $2, password = $3, email = $4, email_folded = $5, \
                 first_name = $6, last_name = $7, search_key = $8, last_login = $9, created_via = 'registration', \
                 email_verified = $11, verification_sent_at = $12 \
                 WHERE id = $10 AND created_via = 'invitation' AND password LIKE '!%'")
                .bind(&new.username).bind(fold(&new.username)).bind(&new.password_hash).bind(&new.email)
                .bind(fold(&new.email)).bind(&new.first_name).bind(&new.last_name)
                .bind(search_key(&new.username, &new.first_name, &new.last_name))
                .bind(new.logged_in.then_some(now)).bind(id).bind(new.email_verified).bind(mail.map(|_| now))
                .execute(&mut *tx).await;
            match updated {
                Err(e) if is_unique_violation(&e) => return Err(WriteError::UsernameTaken),
                Err(e) => return Err(e.into()),
                Ok(r) if r.rows_affected() == 0 => return Err(WriteError::NotFound),
                Ok(_) => {}
            }
            if let Some(mail) = mail.and_then(|make| make(id.0)) {
                insert_mail!(&mut *tx, &mail)?;
            }
            let ev = new_user_event(ev, id.0, new).detail("claimed_invitation_account", true);
            append_event!(tx, &ev)?;
            tx.commit().await?;
            Ok::<(), WriteError>(())
        })?;
        self.user_by_id(id.0).await?.ok_or(WriteError::NotFound)
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

    /// An administrator's new password for user `user_id`, revoking every credential the user
    /// holds (sessions, the API token, personal access tokens) in one transaction; with
    /// `must_change` the user must choose another one before anything else. `false` when there
    /// is no such user.
    pub async fn set_password_revoking(
        &self,
        user_id: i64,
        hash: &str,
        must_change: bool,
        ev: &AuditEvent,
    ) -> sqlx::Result<bool> {
        let nothing = crate::store::KeptCredential::Nothing;
        self.replace_password_revoking(user_id, None, hash, nothing, must_change, ev)
            .await
    }
}

impl Db {
    /// Queues `mail` (a confirmation of `email`) for user `id` unless one was queued since
    /// `not_before`, in one transaction; `false` when the cooldown held or the address changed.
    pub async fn queue_verification_mail(
        &self,
        id: i64,
        email: &str,
        not_before: i64,
        mail: &NewMail,
    ) -> sqlx::Result<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let claimed = sqlx::query(
                "UPDATE users SET verification_sent_at = $1 WHERE id = $2 AND email_folded = $3 \
                 AND email_verified = FALSE AND (verification_sent_at IS NULL OR verification_sent_at < $4)")
                .bind(now_micros()).bind(id).bind(fold(email)).bind(not_before)
                .execute(&mut *tx).await?.rows_affected() > 0;
            if claimed {
                insert_mail!(&mut *tx, mail)?;
            }
            tx.commit().await?;
            Ok(claimed)
        })
    }

    /// Marks user `id`'s address confirmed if it is still `email` and a confirmation is
    /// pending; `false` otherwise (a used, stale or foreign link).
    pub async fn confirm_email(&self, id: i64, email: &str, ev: &AuditEvent) -> sqlx::Result<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let confirmed = sqlx::query(
                "UPDATE users SET email_verified = TRUE WHERE id = $1 AND email_folded = $2 AND email_verified = FALSE")
                .bind(id).bind(fold(email)).execute(&mut *tx).await?.rows_affected() > 0;
            if confirmed {
                append_event!(tx, ev)?;
                tx.commit().await?;
            }
            Ok(confirmed)
        })
    }
}

impl Db {
    /// Blocks (at `now`) or unblocks user `id`. Refuses, rolling back, to block the last active
    /// unblocked admin. `NotFound` when there is no such user.
    pub async fn set_blocked(
        &self,
        id: UserId,
        blocked: bool,
        ev: &AuditEvent,
    ) -> Result<UserRecord, WriteError> {
        write_tx!(self, tx => {
            let was_admin: i64 = sqlx::query_scalar(WAS_ACTIVE_ADMIN).bind(id).fetch_one(&mut *tx).await?;
            // Blocking keeps the first date; unblocking clears it.
            let changed = sqlx::query(
                "UPDATE users SET blocked_date = CASE WHEN $1 THEN COALESCE(blocked_date, $2) ELSE NULL END WHERE id = $3")
                .bind(blocked).bind(now_micros()).bind(id).execute(&mut *tx).await?;
            if changed.rows_affected() == 0 {
                return Err(WriteError::NotFound);
            }
            if blocked && was_admin > 0 {
                let admins: i64 = sqlx::query_scalar(COUNT_ACTIVE_ADMINS).fetch_one(&mut *tx).await?;
                if admins == 0 {
                    return Err(WriteError::LastAdmin(
                        "This is the last active admin: blocking it would leave nobody able to administer the server. \
                         Make another user an active admin first."));
                }
            }
            append_event!(tx, ev)?;
            tx.commit().await?;
            Ok::<(), WriteError>(())
        })?;
        self.user_by_id(id.0).await?.ok_or(WriteError::NotFound)
    }
}

/// `ev` about the new user `id`, with its public fields (never the password); without an
/// actor (a registration), the new user is its own actor.
fn new_user_event(ev: &AuditEvent, id: i64, new: &NewUser) -> AuditEvent {
    let mut ev = ev.clone().target("user", Some(id), &new.username);
    if ev.actor_id.is_none() {
        ev.actor_id = Some(id);
        ev.actor_username = new.username.clone();
    }
    for (field, value) in [
        ("username", serde_json::json!(new.username)),
        ("email", new.email.clone().into()),
        ("first_name", new.first_name.clone().into()),
        ("last_name", new.last_name.clone().into()),
        ("is_staff", new.is_staff.into()),
        ("is_superuser", new.is_superuser.into()),
        ("is_active", new.is_active.into()),
        ("groups", new.groups.clone().into()),
    ] {
        ev.changes
            .insert(field.into(), serde_json::json!({"old": null, "new": value}));
    }
    ev
}
