//! Fast, deterministic seeding of a users database: multi-row INSERTs in large transactions,
//! one precomputed Argon2 hash (plus an imported-style PBKDF2 one), realistic names, groups,
//! organizations and memberships. Every column the server reads is filled as it fills it.

use std::time::Instant;

use anyhow::Context;
use cvat_server::store::{digest, fold, Db, DbOptions};

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
    pub memberships: u64,
}

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Margaret",
    "Paul",
    "Sandra",
    "Steven",
    "Ashley",
    "Andrew",
    "Kimberly",
    "Joshua",
    "Emily",
    "Kevin",
    "Donna",
    "Brian",
    "Michelle",
    "George",
    "Carol",
    "Edward",
    "Amanda",
    "Ronald",
    "Melissa",
    "Timothy",
    "Deborah",
    "Jason",
    "Stephanie",
    "Anna",
    "Maria",
    "Olga",
    "Ivan",
    "Dmitry",
    "Sergey",
    "Natalia",
    "Elena",
    "Tatiana",
    "Alexei",
    "Piotr",
    "Katarzyna",
    "Agnieszka",
    "Tomasz",
    "Marek",
    "Zofia",
    "Hans",
    "Jürgen",
    "Günter",
    "Ursula",
    "Jörg",
    "Björn",
    "Søren",
    "Åsa",
    "Øyvind",
    "Ingrid",
    "Lars",
    "Sven",
    "Astrid",
    "José",
    "María",
    "Jesús",
    "Lucía",
    "Sofía",
    "Raúl",
    "Inés",
    "François",
    "Hélène",
    "Zoë",
    "Chloé",
    "Noël",
    "Léa",
    "Łukasz",
    "Paweł",
    "Małgorzata",
    "Ștefan",
    "Ioana",
    "Ahmet",
    "Ayşe",
    "Çağla",
    "Mehmet",
    "Yuki",
    "Haruto",
    "Sakura",
    "Wei",
    "Fang",
    "Min-jun",
    "Ji-woo",
    "Arjun",
    "Priya",
    "Ananya",
    "Rohan",
    "Nguyễn",
    "Thảo",
    "Αλέξανδρος",
    "Σοφία",
    "Дмитрий",
    "Анна",
    "Иван",
    "李",
    "王",
    "Ólafur",
    "Sigríður",
];

const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Ivanov",
    "Petrov",
    "Smirnov",
    "Kuznetsova",
    "Popova",
    "Sokolov",
    "Lebedev",
    "Kozlov",
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Wójcik",
    "Kowalczyk",
    "Kamiński",
    "Lewandowska",
    "Zieliński",
    "Szymański",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsson",
    "Lindqvist",
    "Åberg",
    "Sjöberg",
    "Fernández",
    "González",
    "Gómez",
    "Díaz",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Álvarez",
    "Muñoz",
    "Romero",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Laurent",
    "Girard",
    "Bonnet",
    "Rousseau",
    "Lambert",
    "Fontaine",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Yılmaz",
    "Kaya",
    "Demir",
    "Şahin",
    "Çelik",
    "Öztürk",
    "Tanaka",
    "Suzuki",
    "Takahashi",
    "Watanabe",
    "Kim",
    "Park",
    "Choi",
    "Chen",
    "Wang",
    "Zhang",
    "Liu",
    "Yang",
    "Huang",
    "Sharma",
    "Patel",
    "Singh",
    "Kumar",
    "Gupta",
    "Trần",
    "Lê",
    "Phạm",
    "Παπαδόπουλος",
    "Иванова",
    "Смирнов",
    "",
    "O'Brien",
    "O'Connor",
    "MacDonald",
    "van der Berg",
    "de la Cruz",
    "Ó Súilleabháin",
];

const ROLES: &[&str] = &[
    "maintainer",
    "supervisor",
    "worker",
    "worker",
    "worker",
    "worker",
];

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

/// A bound value of a bulk INSERT.
enum V {
    I(i64),
    OI(Option<i64>),
    B(bool),
    T(String),
}

/// One connection of either engine, inside a transaction.
enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

macro_rules! bind_values {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                V::I(x) => q.bind(*x),
                V::OI(x) => q.bind(*x),
                V::B(x) => q.bind(*x),
                V::T(x) => q.bind(x.as_str()),
            };
        }
        q
    }};
}

impl Tx {
    async fn exec(&mut self, sql: &str) -> anyhow::Result<()> {
        match self {
            Tx::Sqlite(t) => sqlx::query(sql).execute(&mut **t).await.map(|_| ())?,
            Tx::Postgres(t) => sqlx::query(sql).execute(&mut **t).await.map(|_| ())?,
        }
        Ok(())
    }
}

/// Rows of one table, flushed as one multi-row INSERT every `BATCH` rows.
struct Bulk {
    head: &'static str,
    columns: usize,
    values: Vec<V>,
    rows: u64,
}

const BATCH: usize = 1000;

impl Bulk {
    fn new(head: &'static str, columns: usize) -> Bulk {
        Bulk {
            head,
            columns,
            values: Vec::with_capacity(BATCH * columns),
            rows: 0,
        }
    }

    async fn push(&mut self, tx: &mut Tx, row: Vec<V>) -> anyhow::Result<()> {
        debug_assert_eq!(row.len(), self.columns);
        self.values.extend(row);
        self.rows += 1;
        if self.full() {
            self.flush(tx).await?;
        }
        Ok(())
    }

    /// Adds a row that refers to rows of another table: the caller flushes in dependency order.
    fn add(&mut self, row: Vec<V>) {
        debug_assert_eq!(row.len(), self.columns);
        self.values.extend(row);
        self.rows += 1;
    }

    fn full(&self) -> bool {
        self.values.len() >= BATCH * self.columns
    }

    async fn flush(&mut self, tx: &mut Tx) -> anyhow::Result<()> {
        if self.values.is_empty() {
            return Ok(());
        }
        let mut sql = String::with_capacity(self.head.len() + self.values.len() * 6);
        sql.push_str(self.head);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for row in 0..self.values.len() / self.columns {
            if row > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..self.columns {
                if c > 0 {
                    sql.push(',');
                }
                n += 1;
                // SQLite: plain `?` (sqlx looks every `$n` up by name, quadratic in the count).
                match tx {
                    Tx::Sqlite(_) => sql.push('?'),
                    Tx::Postgres(_) => sql.push_str(&format!("${n}")),
                }
            }
            sql.push(')');
        }
        match tx {
            Tx::Sqlite(t) => {
                bind_values!(sqlx::query(&sql), &self.values)
                    .execute(&mut **t)
                    .await?;
            }
            Tx::Postgres(t) => {
                bind_values!(sqlx::query(&sql), &self.values)
                    .execute(&mut **t)
                    .await?;
            }
        }
        self.values.clear();
        Ok(())
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

fn search_key(username: &str, first: &str, last: &str) -> String {
    format!("{}\n{}\n{}", fold(username), fold(first), fold(last))
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
    let existing: i64 = match &db {
        Db::Sqlite(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(&**p)
                .await?
        }
        Db::Postgres(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(&**p)
                .await?
        }
    };
    anyhow::ensure!(
        existing == 0,
        "the database already has users; seed an empty one"
    );

    // One Argon2 hash for everybody (hashing a million passwords would take hours).
    let argon2 = cvat_server::auth::passwords::hash_password(PASSWORD);
    let mut tx = match &db {
        Db::Sqlite(p) => {
            let mut t = p.begin().await?;
            // Bulk loading: durability of the seed does not matter (the file is rebuilt on failure).
            sqlx::query("PRAGMA synchronous = OFF")
                .execute(&mut *t)
                .await
                .ok();
            Tx::Sqlite(t)
        }
        Db::Postgres(p) => Tx::Postgres(p.begin().await?),
    };
    if let Tx::Sqlite(t) = &mut tx {
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut **t)
            .await?;
    }

    let mut rng = Rng::new(0x5eed_cafe);
    let orgs = orgs.max(1);
    let now: i64 = 1_735_689_600_000_000; // 2025-01-01, fixed so that runs are comparable
    let five_years: i64 = 5 * 365 * 86_400 * 1_000_000;

    let mut org_rows = Bulk::new(
        "INSERT INTO organizations (id, slug, name, description, created_date, updated_date, contact, owner_id)",
        8,
    );
    for o in 1..=orgs {
        let created = now - five_years + rng.below(five_years as u64) as i64;
        org_rows
            .push(
                &mut tx,
                vec![
                    V::I(o as i64),
                    V::T(format!("team-{o}")),
                    V::T(format!("{} lab {o}", rng.pick(LAST))),
                    V::T(String::new()),
                    V::I(created),
                    V::I(created),
                    V::T("{}".into()),
                    V::OI(None),
                ],
            )
            .await?;
    }
    org_rows.flush(&mut tx).await?;

    let mut user_rows = Bulk::new(
        "INSERT INTO users (id, username, username_folded, password, email, email_folded, first_name, \
         last_name, search_key, is_staff, is_superuser, is_active, last_login, date_joined)",
        14,
    );
    let mut group_rows = Bulk::new("INSERT INTO user_groups (user_id, group_id)", 2);
    let mut token_rows = Bulk::new("INSERT INTO tokens (digest, user_id, created)", 3);
    let mut member_rows = Bulk::new(
        "INSERT INTO memberships (user_id, organization_id, is_active, joined_date, role)",
        5,
    );
    let mut owners: Vec<Option<i64>> = vec![None; orgs as usize + 1];
    let mut org_sizes: Vec<u64> = vec![0; orgs as usize + 1];

    let mut fixture = Fixture {
        admin_token: String::new(),
        user_token: String::new(),
        basic_login: "legacy".into(),
        basic_password: LEGACY_PASSWORD.into(),
        org_slug: String::new(),
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
        let joined = now - five_years + rng.below(five_years as u64) as i64;
        let last_login =
            (rng.below(10) < 7).then(|| joined + rng.below((now - joined) as u64 + 1) as i64);
        let active = id <= 3 || rng.below(100) >= 3;
        user_rows.add(vec![
            V::I(id),
            V::T(username.clone()),
            V::T(fold(&username)),
            V::T(password.to_string()),
            V::T(email.clone()),
            V::T(fold(&email)),
            V::T(first.to_string()),
            V::T(last.to_string()),
            V::T(search_key(&username, first, last)),
            V::B(admin),
            V::B(admin),
            V::B(active),
            V::OI(last_login),
            V::I(joined),
        ]);
        for g in groups {
            group_rows.add(vec![V::I(id), V::I(*g)]);
        }
        // Tokens for the bench accounts and 5 % of the others.
        if id <= 3 || rng.below(20) == 0 {
            let key = rng.hex40();
            match id {
                1 => fixture.admin_token = key.clone(),
                2 => fixture.user_token = key.clone(),
                _ => {}
            }
            token_rows.add(vec![V::T(digest(&key)), V::I(id), V::I(joined)]);
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
                member_rows.add(vec![
                    V::I(id),
                    V::I(o as i64),
                    V::B(active),
                    V::OI(active.then_some(joined)),
                    V::T(role.into()),
                ]);
            }
        }
        // Users first: the other rows refer to them (foreign keys are checked at once).
        if user_rows.full() || group_rows.full() || token_rows.full() || member_rows.full() {
            user_rows.flush(&mut tx).await?;
            group_rows.flush(&mut tx).await?;
            token_rows.flush(&mut tx).await?;
            member_rows.flush(&mut tx).await?;
        }
    }
    user_rows.flush(&mut tx).await?;
    group_rows.flush(&mut tx).await?;
    token_rows.flush(&mut tx).await?;
    member_rows.flush(&mut tx).await?;
    for (o, owner) in owners.iter().enumerate().skip(1) {
        if let Some(owner) = owner {
            let sql = format!("UPDATE organizations SET owner_id = {owner} WHERE id = {o}");
            tx.exec(&sql).await?;
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

    match tx {
        Tx::Sqlite(t) => t.commit().await?,
        Tx::Postgres(mut t) => {
            for table in ["users", "organizations", "memberships"] {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                );
                sqlx::query(&sql).execute(&mut *t).await?;
            }
            t.commit().await?;
        }
    }
    match &db {
        Db::Sqlite(p) => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&**p)
                .await?;
        }
        // What autovacuum does after a bulk load (PostgreSQL 13 and later vacuum after inserts
        // too): statistics, and a visibility map that lets counts through an index skip the heap.
        Db::Postgres(p) => {
            sqlx::query("VACUUM ANALYZE users, user_groups, organizations, memberships")
                .execute(&**p)
                .await?;
        }
    }
    db.close().await;
    eprintln!(
        "cvat-bench: seeded {users} users, {} memberships in {orgs} organizations in {:.1} s",
        fixture.memberships,
        started.elapsed().as_secs_f64()
    );
    Ok(fixture)
}
