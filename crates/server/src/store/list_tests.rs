//! The indexed list paths against the plain ones, on random data: the trigram search returns
//! exactly the rows of a substring scan (SQLite FTS5; PostgreSQL pg_trgm when
//! `CVAT_TEST_POSTGRES` names a server), the shortcut counts agree with `COUNT(*)`, and keyset
//! batches concatenate to the offset pages.

use super::*;
use crate::filters::{self, Field, SqlBuf};

use crate::test_rng::Rng;

impl Rng {
    /// Text from a small alphabet full of LIKE/FTS5 syntax and case-folding traps.
    fn word(&mut self, max: usize) -> String {
        const ALPHABET: [char; 20] = [
            'a', 'b', 'A', 'B', 'é', 'É', 'ß', 'ς', 'Σ', '%', '_', '"', '\\', '\'', '*', '-', '1',
            '(', 'ŉ', '李',
        ];
        (0..self.index(max + 1))
            .map(|_| ALPHABET[self.index(ALPHABET.len())])
            .collect()
    }
}

async fn sqlite_db(dir: &tempfile::TempDir) -> Db {
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    Db::open(&options(url)).await.unwrap()
}

fn options(url: String) -> DbOptions {
    DbOptions {
        url,
        max_connections: 4,
        connect_timeout: std::time::Duration::from_secs(10),
        statement_timeout: std::time::Duration::from_secs(30),
    }
}

/// A fresh schema on the PostgreSQL server of `CVAT_TEST_POSTGRES`, if set.
async fn postgres_db() -> Option<Db> {
    let base = std::env::var("CVAT_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())?;
    let schema = format!("lt{}_{}", std::process::id(), rand::random::<u32>());
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
    Some(Db::open(&options(url)).await.unwrap())
}

async fn insert_users(db: &Db, rng: &mut Rng, n: usize) {
    for i in 0..n {
        let username = format!("{}{i}", rng.word(6));
        let (first, last) = (rng.word(5), rng.word(5));
        let key = users::search_key(&username, &first, &last);
        on_pool!(db, p => sqlx::query(
            "INSERT INTO users (username, username_folded, password, first_name, last_name, search_key, is_active, date_joined) \
             VALUES ($1, $2, '!', $3, $4, $5, $6, 0)")
            .bind(&username).bind(fold(&username)).bind(&first).bind(&last).bind(&key)
            .bind(rng.index(4) > 0).execute(p).await.map(|_| ())).unwrap();
    }
}

/// Ids whose search key contains every term, by the plain scan (instr/strpos).
async fn scan(db: &Db, terms: &[String]) -> Vec<i64> {
    let f = match db.dialect() {
        Dialect::Sqlite => "instr",
        Dialect::Postgres => "strpos",
    };
    let mut sql = SqlBuf::default();
    sql.push("SELECT u.id FROM users u WHERE 1=1");
    for t in terms {
        sql.push(&format!(" AND {f}(u.search_key, "));
        sql.bind(filters::Bind::Text(t.clone()));
        sql.push(") > 0");
    }
    sql.push(" ORDER BY u.id");
    on_pool!(db, p => bind_all!(sqlx::query_scalar::<_, i64>(&sql.sql), sql.binds.iter()).fetch_all(p).await).unwrap()
}

async fn ids(db: &Db, q: &UserQuery) -> Vec<i64> {
    let mut users = db
        .list_users(q, &[(Field::Id, false)], 0, 1_000_000)
        .await
        .unwrap();
    users.sort_by_key(|u| u.id);
    users.iter().map(|u| u.id).collect()
}

async fn search_is_the_scan(db: &Db) {
    let mut rng = Rng(0x51ce_b00c_dead_beef);
    insert_users(db, &mut rng, 300).await;
    let mut keys: Vec<String> =
        on_pool!(db, p => sqlx::query_scalar::<_, String>("SELECT search_key FROM users")
        .fetch_all(p).await)
        .unwrap();
    for round in 0..400 {
        // Mostly pieces of real keys (so that searches find something), some random text.
        let mut raw = String::new();
        for _ in 0..=rng.index(2) {
            let piece = if rng.index(3) > 0 {
                let k: Vec<char> = keys[rng.index(keys.len())].chars().collect();
                let start = rng.index(k.len().max(1));
                let len = 1 + rng.index(5);
                k.iter().skip(start).take(len).collect::<String>()
            } else {
                rng.word(4)
            };
            raw.push_str(&piece);
            raw.push(',');
        }
        let terms = filters::parse_search(Some(&raw)).unwrap();
        let q = UserQuery {
            search: terms.clone(),
            ..Default::default()
        };
        let expected = scan(db, &terms).await;
        assert_eq!(ids(db, &q).await, expected, "{terms:?}");
        assert_eq!(
            db.count_users(&q).await.unwrap(),
            expected.len() as i64,
            "{terms:?}"
        );
        // Also behind another condition (the general count).
        let q = UserQuery {
            exact: vec![(Field::IsActive, filters::Bind::Bool(true))],
            ..q
        };
        let active = ids(db, &q).await;
        assert!(active.iter().all(|id| expected.contains(id)), "{terms:?}");
        assert_eq!(db.count_users(&q).await.unwrap(), active.len() as i64);
        // The index follows renames and deletions.
        if round % 40 == 39 {
            let id = expected.first().copied().unwrap_or(1);
            let changes = crate::service::UserPatch {
                username: Some(format!("{}r{round}", rng.word(4))),
                last_name: Some(rng.word(5)),
                ..Default::default()
            };
            db.update_user(crate::service::UserId(id), &changes, &Default::default())
                .await
                .unwrap();
            on_pool!(db, p => sqlx::query("DELETE FROM users WHERE id = $1").bind(id + 1).execute(p).await.map(|_| ())).unwrap();
            keys =
                on_pool!(db, p => sqlx::query_scalar::<_, String>("SELECT search_key FROM users")
                .fetch_all(p).await)
                .unwrap();
        }
    }
    let all = UserQuery::default();
    assert_eq!(db.count_users(&all).await.unwrap(), keys.len() as i64);
}

async fn batches_are_the_pages(db: &Db) {
    let sorts: [&[(Field, bool)]; 5] = [
        &[(Field::Id, true)],
        &[(Field::Username, false)],
        &[(Field::LastName, true), (Field::FirstName, false)],
        &[(Field::IsActive, false), (Field::FirstName, true)],
        &[
            (Field::FirstName, false),
            (Field::IsActive, true),
            (Field::Id, true),
        ],
    ];
    let q = UserQuery::default();
    for sort in sorts {
        let whole: Vec<i64> = db
            .list_users(&q, sort, 0, 1_000_000)
            .await
            .unwrap()
            .iter()
            .map(|u| u.id)
            .collect();
        let mut streamed = Vec::new();
        let mut after: Option<UserRecord> = None;
        loop {
            let batch = db
                .list_users_after(&q, sort, after.as_ref(), 7)
                .await
                .unwrap();
            streamed.extend(batch.iter().map(|u| u.id));
            if batch.len() < 7 {
                break;
            }
            after = batch.last().cloned();
        }
        assert_eq!(streamed, whole, "{sort:?}");
    }
}

#[tokio::test]
async fn sqlite_search_index_is_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir).await;
    search_is_the_scan(&db).await;
    batches_are_the_pages(&db).await;
    db.close().await;
}

#[tokio::test]
async fn postgres_search_index_is_the_scan() {
    let Some(db) = postgres_db().await else {
        eprintln!("CVAT_TEST_POSTGRES not set: skipped");
        return;
    };
    search_is_the_scan(&db).await;
    batches_are_the_pages(&db).await;
    db.close().await;
}

/// The unfiltered count (a counter row on SQLite, summed delta rows on PostgreSQL) follows
/// creations and deletions through the store, bulk statements and a truncation, and the
/// PostgreSQL delta rows fold back to a few after a store write.
async fn the_user_count_is_count_star(db: &Db) {
    let all = UserQuery::default();
    let star = || async {
        on_pool!(db, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(p).await)
            .unwrap()
    };
    let new = |name: &str| NewUser {
        username: name.into(),
        password_hash: String::new(),
        email: format!("{name}@example.com"),
        first_name: String::new(),
        last_name: String::new(),
        is_staff: false,
        is_superuser: false,
        groups: vec!["user".into()],
        logged_in: false,
        is_active: true,
        created_via: None,
        email_verified: None,
        must_change_password: false,
        external_id: None,
    };
    let mut rng = Rng(7);
    insert_users(db, &mut rng, 40).await;
    assert_eq!(db.count_users(&all).await.unwrap(), star().await);
    let a = db
        .create_user(&new("count_a"), &Default::default())
        .await
        .unwrap();
    db.create_user(&new("count_b"), &Default::default())
        .await
        .unwrap();
    assert_eq!(db.count_users(&all).await.unwrap(), star().await);
    db.delete_user(crate::service::UserId(a.id), &Default::default())
        .await
        .unwrap();
    assert_eq!(db.count_users(&all).await.unwrap(), star().await);
    if db.dialect() == Dialect::Postgres {
        let rows =
            on_pool!(db, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM user_count_delta")
            .fetch_one(p).await)
            .unwrap();
        assert!(rows <= 2, "{rows} delta rows after a store write");
    }
    // One statement adding many rows, one removing many, one removing none.
    on_pool!(db, p => sqlx::query(
        "INSERT INTO users (username, username_folded, password, first_name, last_name, search_key, is_active, date_joined) \
         SELECT 'bulk' || id, 'bulk' || id, '', '', '', 'bulk' || id, true, 0 FROM users")
        .execute(p).await.map(|_| ())).unwrap();
    assert_eq!(db.count_users(&all).await.unwrap(), star().await);
    on_pool!(db, p => sqlx::query("DELETE FROM users WHERE username LIKE 'bulk%' AND id % 3 = 0")
        .execute(p).await.map(|_| ()))
    .unwrap();
    on_pool!(db, p => sqlx::query("DELETE FROM users WHERE id < 0").execute(p).await.map(|_| ()))
        .unwrap();
    assert_eq!(db.count_users(&all).await.unwrap(), star().await);
    if db.dialect() == Dialect::Postgres {
        on_pool!(db, p => sqlx::query("TRUNCATE users CASCADE").execute(p).await.map(|_| ()))
            .unwrap();
        assert_eq!(db.count_users(&all).await.unwrap(), 0);
        db.create_user(&new("count_c"), &Default::default())
            .await
            .unwrap();
        assert_eq!(db.count_users(&all).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn sqlite_user_count() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(&dir).await;
    the_user_count_is_count_star(&db).await;
    db.close().await;
}

#[tokio::test]
async fn postgres_user_count() {
    let Some(db) = postgres_db().await else {
        eprintln!("CVAT_TEST_POSTGRES not set: skipped");
        return;
    };
    the_user_count_is_count_star(&db).await;
    db.close().await;
}
