//! Writing: everything through the store's bulk transaction (`crate::store::BulkTx`), users in
//! batches as they stream in, the other kept records at the end.

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, bail};
use serde_json::Value;
use tokio::sync::mpsc;

use super::read::{Kind, Msg, Raw, ReadStats};
use super::records::*;
use super::NAMED_COLLISIONS;
use crate::store::{
    fold, BulkInvitation, BulkMembership, BulkOrg, BulkToken, BulkTx, BulkUser, TableCounts,
};

/// Users written per batch while the dump streams in.
const USER_BATCH: usize = 1000;

/// Adds the record's context to an error.
trait Ctx<T> {
    fn ctx(self, ctx: &str) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> Ctx<T> for Result<T, E> {
    fn ctx(self, ctx: &str) -> anyhow::Result<T> {
        self.map_err(|e| {
            let e: anyhow::Error = e.into();
            anyhow!("{ctx}: {e:#}")
        })
    }
}

pub(super) struct Importer {
    pub(super) tx: BulkTx,
    replace: bool,
    counts: HashMap<&'static str, u64>,
    /// Rows present before the import (0 after `--replace`): no collision checks when 0.
    existing: TableCounts,
    /// Human descriptions of ids/usernames/slugs/keys already taken.
    collisions: Vec<String>,
    /// Imported users: username → id, and the ids.
    user_ids: HashMap<String, i64>,
    imported_ids: HashSet<i64>,
    /// Case-folded usernames of the dump's users, for its own duplicates.
    imported_names: HashSet<String>,
    /// Users not written yet (the next batch).
    pending_users: Vec<BulkUser>,
    /// Our groups by name, and the dump's group ids → names.
    groups: HashMap<String, i64>,
    dump_groups: HashMap<i64, String>,
    /// (user id, group reference, record context) for the end.
    user_groups: Vec<(i64, Ref, u64)>,
    tokens: Vec<Token>,
    organizations: Vec<Organization>,
    memberships: Vec<Membership>,
    invitations: Vec<Invitation>,
}

impl Importer {
    pub(super) fn new(tx: BulkTx, replace: bool) -> Importer {
        Importer {
            tx,
            replace,
            counts: HashMap::new(),
            existing: TableCounts::default(),
            collisions: Vec::new(),
            user_ids: HashMap::new(),
            imported_ids: HashSet::new(),
            imported_names: HashSet::new(),
            pending_users: Vec::new(),
            groups: HashMap::new(),
            dump_groups: HashMap::new(),
            user_groups: Vec::new(),
            tokens: Vec::new(),
            organizations: Vec::new(),
            memberships: Vec::new(),
            invitations: Vec::new(),
        }
    }

    pub(super) fn counts(&self) -> Vec<(&'static str, u64)> {
        Kind::ALL
            .iter()
            .map(|k| (k.model(), self.counts.get(k.model()).copied().unwrap_or(0)))
            .collect()
    }

    pub(super) async fn run(
        &mut self,
        mut receiver: mpsc::Receiver<Msg>,
    ) -> anyhow::Result<ReadStats> {
        self.prepare().await?;
        let stats = loop {
            match receiver.recv().await {
                Some(Msg::Record(raw)) => {
                    let ctx = raw.context();
                    if let Err(e) = self.take(raw).await {
                        return Err(anyhow!("{ctx}: {e:#}"));
                    }
                }
                Some(Msg::Done(outcome)) => break outcome?,
                None => bail!("the reader stopped unexpectedly"),
            }
        };
        drop(receiver);
        self.flush_users().await?;
        self.fail_on_collisions()?;
        self.finish().await?;
        self.fail_on_collisions()?;
        Ok(stats)
    }

    async fn prepare(&mut self) -> anyhow::Result<()> {
        if self.replace {
            self.tx.clear_identity_tables().await?;
        }
        self.existing = self.tx.table_counts().await?;
        for (id, name) in self.tx.groups().await? {
            self.groups.insert(name, id);
        }
        Ok(())
    }

    fn count(&mut self, kind: Kind) {
        *self.counts.entry(kind.model()).or_insert(0) += 1;
    }

    /// Handles one kept record as it streams in.
    async fn take(&mut self, raw: Raw) -> anyhow::Result<()> {
        let ctx = raw.context();
        let Raw {
            index,
            kind,
            pk,
            fields,
        } = raw;
        match kind {
            Kind::Group => {
                let f: GroupFields = serde_json::from_value(fields)?;
                if let Some(pk) = pk_int(&pk)? {
                    self.dump_groups.insert(pk, f.name.clone());
                }
                if !self.groups.contains_key(&f.name) {
                    let id = self.tx.insert_group(&f.name).await?;
                    self.groups.insert(f.name, id);
                }
            }
            Kind::User => self.take_user(index, &pk, fields).await?,
            Kind::Token => {
                let f: TokenFields = serde_json::from_value(fields)?;
                self.tokens.push(Token {
                    key: pk_text(&pk)?,
                    user: parse_ref("user", &f.user)?,
                    created: parse_time("created", &f.created)?,
                    ctx,
                });
            }
            Kind::Organization => {
                let f: OrganizationFields = serde_json::from_value(fields)?;
                let contact = match f.contact {
                    None | Some(Value::Null) => "{}".to_string(),
                    // Very old dumps hold the JSON as a string.
                    Some(Value::String(s)) if serde_json::from_str::<Value>(&s).is_ok() => s,
                    Some(v) => v.to_string(),
                };
                self.organizations.push(Organization {
                    id: pk_int(&pk)?,
                    slug: f.slug,
                    name: f.name.unwrap_or_default(),
                    description: f.description.unwrap_or_default(),
                    created: parse_time("created_date", &f.created_date)?,
                    updated: parse_time("updated_date", &f.updated_date)?,
                    contact,
                    owner: parse_opt_ref("owner", &f.owner)?,
                    ctx,
                });
            }
            Kind::Membership => {
                let f: MembershipFields = serde_json::from_value(fields)?;
                self.memberships.push(Membership {
                    id: pk_int(&pk)?,
                    user: parse_ref("user", &f.user)?,
                    organization: f.organization,
                    is_active: f.is_active,
                    joined: parse_opt_time("joined_date", &f.joined_date)?,
                    role: f.role,
                    ctx,
                });
            }
            Kind::Invitation => {
                let f: InvitationFields = serde_json::from_value(fields)?;
                self.invitations.push(Invitation {
                    key: pk_text(&pk)?,
                    created: parse_time("created_date", &f.created_date)?,
                    owner: parse_opt_ref("owner", &f.owner)?,
                    membership: f.membership,
                    ctx,
                });
            }
        }
        self.count(kind);
        Ok(())
    }

    async fn take_user(&mut self, index: u64, pk: &Value, fields: Value) -> anyhow::Result<()> {
        let f: UserFields = serde_json::from_value(fields)?;
        let id = pk_int(pk)?;
        let first = f.first_name.unwrap_or_default();
        let last = f.last_name.unwrap_or_default();
        let email = f.email.unwrap_or_default();
        let last_login = parse_opt_time("last_login", &f.last_login)?;
        let date_joined = parse_time("date_joined", &f.date_joined)?;
        let groups = f
            .groups
            .iter()
            .map(|g| parse_ref("groups", g))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if f.username.is_empty() {
            bail!("field `username` is empty");
        }
        let folded = fold(&f.username);
        if id.is_some_and(|id| self.imported_ids.contains(&id))
            || self.imported_names.contains(&folded)
        {
            bail!(
                "duplicate user id or username: the dump has user id {id:?} or '{}' twice",
                f.username
            );
        }
        if self.existing.users > 0 {
            let found = self.tx.users_matching(id, &f.username).await?;
            let mut collided = false;
            for (existing_id, existing_name) in found {
                if self.imported_ids.contains(&existing_id) {
                    continue;
                }
                collided = true;
                self.collisions.push(if Some(existing_id) == id {
                    if fold(&existing_name) == fold(&f.username) {
                        format!("user '{existing_name}' (id {existing_id})")
                    } else {
                        format!(
                            "id {existing_id} (database: '{existing_name}', dump: '{}')",
                            f.username
                        )
                    }
                } else {
                    format!(
                        "username '{}' (database: '{existing_name}' id {existing_id}, dump: id {})",
                        f.username,
                        id.map_or("none".to_string(), |i| i.to_string())
                    )
                });
            }
            if collided || !self.collisions.is_empty() {
                // Nothing will be committed: keep reading only to report every collision.
                return Ok(());
            }
        }
        let user = BulkUser {
            id,
            username: f.username.clone(),
            password: f.password,
            email,
            first_name: first,
            last_name: last,
            is_staff: f.is_staff,
            is_superuser: f.is_superuser,
            is_active: f.is_active,
            last_login,
            date_joined,
        };
        let id = match id {
            Some(id) => {
                self.pending_users.push(user);
                if self.pending_users.len() >= USER_BATCH {
                    self.flush_users().await?;
                }
                id
            }
            // `dumpdata --natural-primary` leaves users without ids: new ones are given (after
            // the batch, so that they never take an id a batched user has).
            None => {
                self.flush_users().await?;
                let ids = self.tx.insert_users(vec![user]).await;
                ids.map_err(|e| duplicate(e, "username"))?[0]
            }
        };
        self.imported_names.insert(folded);
        self.imported_ids.insert(id);
        self.user_ids.insert(f.username, id);
        for g in groups {
            self.user_groups.push((id, g, index));
        }
        Ok(())
    }

    /// Writes the pending users.
    async fn flush_users(&mut self) -> anyhow::Result<()> {
        let users = std::mem::take(&mut self.pending_users);
        if !users.is_empty() {
            let written = self.tx.insert_users(users).await;
            written.map_err(|e| duplicate(e, "user id or username"))?;
        }
        Ok(())
    }

    fn fail_on_collisions(&self) -> anyhow::Result<()> {
        if self.collisions.is_empty() {
            return Ok(());
        }
        let n = self.collisions.len();
        let mut named = self.collisions[..n.min(NAMED_COLLISIONS)].join(", ");
        if n > NAMED_COLLISIONS {
            named.push_str(&format!(" and {} more", n - NAMED_COLLISIONS));
        }
        bail!(
            "the database already holds rows the dump also has ({n} collision{}): {named}. \
             Nothing was imported. To delete the existing users, organizations, memberships, \
             invitations, tokens and sessions and import the dump in their place, re-run with --replace.",
            if n == 1 { "" } else { "s" }
        )
    }

    /// A user by reference: imported ones by name, else one already in the database.
    async fn resolve_user(&mut self, r: &Ref) -> anyhow::Result<i64> {
        match r {
            Ref::Id(id) => Ok(*id),
            Ref::Key(name) => {
                if let Some(id) = self.user_ids.get(name) {
                    return Ok(*id);
                }
                self.tx
                    .user_id(name)
                    .await?
                    .ok_or_else(|| anyhow!("unknown user {r}"))
            }
        }
    }

    /// Writes the records that waited for the users.
    async fn finish(&mut self) -> anyhow::Result<()> {
        self.write_user_groups().await?;
        self.write_tokens().await?;
        self.write_organizations().await?;
        self.write_memberships().await?;
        self.write_invitations().await
    }

    async fn write_user_groups(&mut self) -> anyhow::Result<()> {
        let mut pairs = Vec::new();
        for (user_id, g, index) in std::mem::take(&mut self.user_groups) {
            let name = match &g {
                Ref::Key(name) => name.clone(),
                Ref::Id(pk) => self.dump_groups.get(pk).cloned().ok_or_else(|| {
                    anyhow!("record {index} (auth.user pk {user_id}): unknown group {g}")
                })?,
            };
            let group_id = match self.groups.get(&name) {
                Some(id) => *id,
                None => {
                    let id = self.tx.insert_group(&name).await?;
                    self.groups.insert(name, id);
                    id
                }
            };
            pairs.push((user_id, group_id));
        }
        Ok(self.tx.insert_user_groups(&pairs).await?)
    }

    /// Tokens one by one: each failure names its record.
    async fn write_tokens(&mut self) -> anyhow::Result<()> {
        for t in std::mem::take(&mut self.tokens) {
            let user_id = self.resolve_user(&t.user).await.ctx(&t.ctx)?;
            if self.existing.tokens > 0 && self.tx.token_taken(&t.key, user_id).await? {
                self.collisions
                    .push(format!("token of user {} (id {user_id})", t.user));
                continue;
            }
            let row = BulkToken {
                key: t.key,
                user_id,
                created: t.created,
            };
            self.tx
                .insert_tokens(vec![row])
                .await
                .map_err(|e| duplicate(e, "token key or user"))
                .ctx(&t.ctx)?;
        }
        Ok(())
    }

    async fn resolve_owner(
        &mut self,
        owner: &Option<Ref>,
        ctx: &str,
    ) -> anyhow::Result<Option<i64>> {
        match owner {
            Some(r) => Ok(Some(self.resolve_user(r).await.ctx(ctx)?)),
            None => Ok(None),
        }
    }

    async fn write_organizations(&mut self) -> anyhow::Result<()> {
        for o in std::mem::take(&mut self.organizations) {
            let owner_id = self.resolve_owner(&o.owner, &o.ctx).await?;
            if self.existing.organizations > 0 {
                let found = self.tx.orgs_matching(o.id, &o.slug).await?;
                for (id, slug) in &found {
                    self.collisions.push(format!(
                        "organization id {id} '{slug}' (dump: id {} '{}')",
                        o.id.map_or("none".to_string(), |i| i.to_string()),
                        o.slug
                    ));
                }
                if !found.is_empty() {
                    continue;
                }
            }
            let row = BulkOrg {
                id: o.id,
                slug: o.slug,
                name: o.name,
                description: o.description,
                created: o.created,
                updated: o.updated,
                contact: o.contact,
                owner_id,
            };
            self.tx
                .insert_orgs(vec![row])
                .await
                .map_err(|e| duplicate(e, "organization id or slug"))
                .ctx(&o.ctx)?;
        }
        Ok(())
    }

    async fn write_memberships(&mut self) -> anyhow::Result<()> {
        for m in std::mem::take(&mut self.memberships) {
            let user_id = self.resolve_user(&m.user).await.ctx(&m.ctx)?;
            if let Some(id) = m.id.filter(|_| self.existing.memberships > 0) {
                if self.tx.membership_exists(id).await? {
                    self.collisions.push(format!("membership id {id}"));
                    continue;
                }
            }
            let row = BulkMembership {
                id: m.id,
                user_id,
                organization_id: m.organization,
                is_active: m.is_active,
                joined: m.joined,
                role: m.role,
            };
            self.tx
                .insert_memberships(vec![row])
                .await
                .map_err(|e| duplicate(e, "membership (id, or user and organization)"))
                .ctx(&m.ctx)?;
        }
        Ok(())
    }

    async fn write_invitations(&mut self) -> anyhow::Result<()> {
        for i in std::mem::take(&mut self.invitations) {
            let owner_id = self.resolve_owner(&i.owner, &i.ctx).await?;
            if self.existing.invitations > 0
                && self.tx.invitation_taken(&i.key, i.membership).await?
            {
                self.collisions
                    .push(format!("invitation of membership {}", i.membership));
                continue;
            }
            let row = BulkInvitation {
                key: i.key,
                created: i.created,
                owner_id,
                membership_id: i.membership,
            };
            self.tx
                .insert_invitations(vec![row])
                .await
                .map_err(|e| duplicate(e, "invitation key or membership"))
                .ctx(&i.ctx)?;
        }
        Ok(())
    }
}

/// Names a unique-constraint violation in the dump's terms.
fn duplicate(e: sqlx::Error, what: &str) -> anyhow::Error {
    if crate::store::is_unique_violation(&e) {
        anyhow!("duplicate {what}: {e}")
    } else {
        anyhow!(e)
    }
}
