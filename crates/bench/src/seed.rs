//! Fast, deterministic seeding of a users database: multi-row INSERTs in one transaction
//! through the store's bulk writer (so every column is filled as the server fills it), one
//! precomputed Argon2 hash (plus an imported-style PBKDF2 one), realistic names, groups,
//! organizations and memberships.

use std::time::Instant;

use anyhow::Context;
use cvat_server::store::{
    fold, BulkMembership, BulkOrg, BulkToken, BulkTx, BulkUser, Db, DbOptions,
};

use crate::names::{FIRST, LAST, ROLES};

/// The password of every seeded account except the PBKDF2 ones.
pub const PASSWORD: &str = "bench-password";
/// The password of the PBKDF2 accounts (the CVAT test fixture's hash of it).
pub const LEGACY_PASSWORD: &str = "!Q@W#E$R";
const LEGACY_HASH: &str =
    "pbkdf2_sha256$260000$DevmxlmLwciP1P6sZs2Qag$U9DFtjTWx96Sk95qY6UXVcvpdQEP2LcoFBftk5D2RKY=";

/// What the load generator needs to know about a seeded database.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Token of `admin` (id 1, superuser, group admin).
    pub admin_token: String,
    /// Token of `alice` (id 2, group user).
    pub user_token: String,
    /// `legacy` (id 3) has the PBKDF2 hash.
    pub basic_login: String,
    pub basic_password: String,
    /// The slug of a mid-sized organization.
    pub org_slug: String,
    /// `alice`'s address: the password reset row asks for a link to it.
    pub reset_email: String,
    pub memberships: u64,
}

/// splitmix64: deterministic, fast, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn hex40(&mut self) -> String {
        format!(
            "{:016x}{:016x}{:08x}",
            self.next(),
            self.next(),
            self.next() as u32
        )
    }
}

/// Lowercase ASCII-ish handle of a name for user names: letters kept (Unicode letters are valid
/// in Django user names), spaces and apostrophes dropped.
fn handle(name: &str) -> String {
    fold(name)
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-')
        .collect()
}

fn ascii_handle(name: &str) -> String {
    handle(name)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Rows waiting for the next flush, in dependency order (users first: the others refer to them
/// and foreign keys are checked at once).
#[derive(Default)]
struct Pending {
    users: Vec<BulkUser>,
    groups: Vec<(i64, i64)>,
    tokens: Vec<BulkToken>,
    memberships: Vec<BulkMembership>,
}

/// Users per flush.
const FLUSH_USERS: usize = 1000;

impl Pending {
    async fn flush(&mut self, tx: &mut BulkTx) -> anyhow::Result<()> {
        tx.insert_users(std::mem::take(&mut self.users)).await?;
        tx.insert_user_groups(&std::mem::take(&mut self.groups))
            .await?;
        tx.insert_tokens(std::mem::take(&mut self.tokens)).await?;
        tx.insert_memberships(std::mem::take(&mut self.memberships))
            .await?;
        Ok(())
    }
}

/// Seeds `users` users (ids 1..=users) and `orgs` organizations into an empty, migrated
/// database at `url`. Returns what the load generator needs.
pub async fn seed(url: &str, users: u64, orgs: u64) -> anyhow::Result<Fixture> {
    anyhow::ensure!(users >= 10, "seed at least 10 users");
    let started = Instant::now();
    let db = Db::open(&DbOptions {
        url: url.to_string(),
        max_connections: 1,
        connect_timeout: std::time::Duration::from_secs(30),
        statement_timeout: std::time::Duration::ZERO,
    })
    .await
    .context("opening the database to seed")?;
    let mut tx = db.begin_bulk().await?;
    anyhow::ensure!(
        tx.table_counts().await?.users == 0,
        "the database already has users; seed an empty one"
    );
    // Bulk loading: durability of the seed does not matter (the file is rebuilt on failure).
    tx.relax_durability().await?;

    // One Argon2 hash for everybody (hashing a million passwords would take hours).
    let argon2 = cvat_server::auth::passwords::hash_password(PASSWORD);
    let mut rng = Rng::new(0x5eed_cafe);
    let orgs = orgs.max(1);
    let now: i64 = 1_735_689_600_000_000; // 2025-01-01, fixed so that runs are comparable
    let five_years: i64 = 5 * 365 * 86_400 * 1_000_000;

    let org_rows = (1..=orgs)
        .map(|o| {
            let created = now - five_years + rng.below(five_years as u64) as i64;
            BulkOrg {
                id: Some(o as i64),
                slug: format!("team-{o}"),
                name: format!("{} lab {o}", rng.pick(LAST)),
                description: String::new(),
                created,
                updated: created,
                contact: "{}".into(),
                owner_id: None,
            }
        })
        .collect();
    tx.insert_orgs(org_rows).await?;

    let mut pending = Pending::default();
    let mut owners: Vec<Option<i64>> = vec![None; orgs as usize + 1];
    let mut org_sizes: Vec<u64> = vec![0; orgs as usize + 1];
    let mut fixture = Fixture {
        admin_token: String::new(),
        user_token: String::new(),
        basic_login: "legacy".into(),
        basic_password: LEGACY_PASSWORD.into(),
        org_slug: String::new(),
        reset_email: String::new(),
        memberships: 0,
    };

    for id in 1..=users as i64 {
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let (username, first, last, groups, password): (String, &str, &str, &[i64], &str) = match id
        {
            1 => ("admin".into(), "Ada", "Admin", &[1], &argon2),
            2 => ("alice".into(), "Alice", "Liddell", &[3], &argon2),
            3 => ("legacy".into(), "Leg", "Acy", &[3], LEGACY_HASH),
            _ => {
                let (f, l) = (handle(first), handle(last));
                let f0: String = f.chars().take(1).collect();
                let username = match rng.below(5) {
                    0 => format!("{f}.{l}{id}"),
                    1 => format!("{f0}{l}{id}"),
                    2 => format!("{l}_{f}{id}"),
                    3 => format!("{first}{}{id}", handle(last)).replace(' ', ""),
                    _ => format!("{f}{id}"),
                };
                let r = rng.below(10_000);
                let groups: &[i64] = match r {
                    0..=4 => &[1],          // admin: 0.05 %
                    5..=404 => &[2],        // business: 4 %
                    405..=1404 => &[4],     // worker: 10 %
                    1405..=1904 => &[3, 4], // user + worker: 5 %
                    _ => &[3],              // user
                };
                // 1 % carry an imported Django hash.
                let password = if rng.below(100) == 0 {
                    LEGACY_HASH
                } else {
                    argon2.as_str()
                };
                (username, first, last, groups, password)
            }
        };
        let admin = groups.contains(&1);
        let email = {
            let local = ascii_handle(&username);
            let local = if local.is_empty() {
                format!("user{id}")
            } else {
                local
            };
            let domain = ["example.com", "Example.org", "mail.example.net"][rng.below(3) as usize];
            format!("{local}@{domain}")
        };
        if id == 2 {
            fixture.reset_email = email.clone();
        }
        let joined = now - five_years + rng.below(five_years as u64) as i64;
        let last_login =
            (rng.below(10) < 7).then(|| joined + rng.below((now - joined) as u64 + 1) as i64);
        let active = id <= 3 || rng.below(100) >= 3;
        pending.users.push(BulkUser {
            id: Some(id),
            username,
            password: password.to_string(),
            email,
            first_name: first.to_string(),
            last_name: last.to_string(),
            is_staff: admin,
            is_superuser: admin,
            is_active: active,
            last_login,
            date_joined: joined,
        });
        pending.groups.extend(groups.iter().map(|g| (id, *g)));
        // Tokens for the bench accounts and 5 % of the others.
        if id <= 3 || rng.below(20) == 0 {
            let key = rng.hex40();
            match id {
                1 => fixture.admin_token = key.clone(),
                2 => fixture.user_token = key.clone(),
                _ => {}
            }
            pending.tokens.push(BulkToken {
                key,
                user_id: id,
                created: joined,
            });
        }
        // Memberships: half of the users in none, 35 % in one, 15 % in two organizations; small
        // organization ids are the big ones.
        if id > 3 {
            let n = match rng.below(100) {
                0..=49 => 0,
                50..=84 => 1,
                _ => 2,
            };
            let mut mine: Vec<u64> = Vec::new();
            for _ in 0..n {
                let x = (rng.below(1 << 20) as f64) / f64::from(1 << 20);
                let o = 1 + ((x * x * orgs as f64) as u64).min(orgs - 1);
                if mine.contains(&o) {
                    continue;
                }
                mine.push(o);
                let role = if owners[o as usize].is_none() {
                    owners[o as usize] = Some(id);
                    "owner"
                } else {
                    rng.pick(ROLES)
                };
                org_sizes[o as usize] += 1;
                fixture.memberships += 1;
                let active = rng.below(100) >= 5;
                pending.memberships.push(BulkMembership {
                    id: None,
                    user_id: id,
                    organization_id: o as i64,
                    is_active: active,
                    joined: active.then_some(joined),
                    role: role.into(),
                });
            }
        }
        if pending.users.len() >= FLUSH_USERS {
            pending.flush(&mut tx).await?;
        }
    }
    pending.flush(&mut tx).await?;
    for (o, owner) in owners.iter().enumerate().skip(1) {
        if let Some(owner) = owner {
            tx.set_org_owner(o as i64, *owner).await?;
        }
    }
    // The organization closest to 0.1 % of the users: a typical team, not the biggest one.
    let target = (users / 1000).max(1);
    let (org, _) = org_sizes
        .iter()
        .enumerate()
        .skip(1)
        .min_by_key(|(_, n)| n.abs_diff(target))
        .unwrap_or((1, &0));
    fixture.org_slug = format!("team-{org}");

    tx.commit().await?;
    db.settle_after_bulk_load().await?;
    db.close().await;
    eprintln!(
        "cvat-bench: seeded {users} users, {} memberships in {orgs} organizations in {:.1} s",
        fixture.memberships,
        started.elapsed().as_secs_f64()
    );
    Ok(fixture)
}
