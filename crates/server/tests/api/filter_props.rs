//! Property tests of the list language: for random JSON-logic filters (and random `search`
//! terms) over random users, the rows the database returns are exactly the rows an in-memory
//! evaluation of the same parsed rule selects. Runs on SQLite, and on PostgreSQL when
//! `CVAT_TEST_POSTGRES` is set (the test command's PostgreSQL pass).

use std::collections::BTreeSet;

use cvat_server::filters::{self, eval_rule, UserFields};
use cvat_server::store::{Db, DbOptions, NewUser, UserQuery, UserRecord};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::common::TestDb;

/// Characters that stress case folding, byte order and LIKE/instr escaping.
const ALPHABET: &[&str] = &[
    "a", "B", "b", "z", "Z", "ü", "Ü", "σ", "Σ", "ς", "1", "_", ".", "%",
];
const NAME_CHARS: &[&str] = &["a", "B", "b", "Z", "ü", "Ü", "σ", "Σ", "1", "_", "."];

fn text(chars: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(chars), 0..=max).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
struct Person {
    username: String,
    first: String,
    last: String,
    active: bool,
}

fn people() -> impl Strategy<Value = Vec<Person>> {
    prop::collection::vec(
        (
            text(NAME_CHARS, 3),
            text(ALPHABET, 3),
            text(ALPHABET, 3),
            any::<bool>(),
        ),
        1..14,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            // "+index" keeps usernames unique, also case-insensitively ("+" is not in NAME_CHARS).
            .map(|(i, (u, first, last, active))| Person {
                username: format!("{u}+{i}"),
                first,
                last,
                active,
            })
            .collect()
    })
}

fn field() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "id",
        "username",
        "first_name",
        "last_name",
        "is_active",
    ])
}

fn value_for(f: &'static str) -> BoxedStrategy<Value> {
    match f {
        "id" => (-2i64..20).prop_map(Value::from).boxed(),
        "is_active" => any::<bool>().prop_map(Value::from).boxed(),
        _ => text(ALPHABET, 3).prop_map(Value::from).boxed(),
    }
}

fn leaf() -> impl Strategy<Value = Value> {
    let cmp = (
        field(),
        prop::sample::select(vec!["==", "<", "<=", ">", ">="]),
    )
        .prop_flat_map(|(f, op)| value_for(f).prop_map(move |v| json!({ op: [{"var": f}, v] })));
    let inside = field().prop_flat_map(|f| {
        prop::collection::vec(value_for(f), 0..4)
            .prop_map(move |vs| json!({"in": [{"var": f}, vs]}))
    });
    let contains = (
        prop::sample::select(vec!["username", "first_name", "last_name"]),
        text(ALPHABET, 2),
    )
        .prop_map(|(f, sub)| json!({"in": [sub, {"var": f}]}));
    let between = (-2i64..20, -2i64..20).prop_map(|(a, b)| json!({"<=": [a, {"var": "id"}, b]}));
    let exists = field().prop_map(|f| json!({ "var": f }));
    prop_oneof![cmp, inside, contains, between, exists]
}

fn rule() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({"and": v})),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| json!({"or": v})),
            inner.clone().prop_map(|r| json!({"!": r})),
            inner.prop_map(|r| json!({"!!": r})),
        ]
    })
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    _db: TestDb,
    store: Db,
}

impl Fixture {
    fn new() -> Fixture {
        let db = TestDb::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let opts = DbOptions {
            url: db.url.clone(),
            max_connections: 2,
            connect_timeout: std::time::Duration::from_secs(10),
            statement_timeout: std::time::Duration::ZERO,
        };
        let store = rt.block_on(Db::open(&opts)).unwrap();
        Fixture { rt, _db: db, store }
    }

    /// Replaces every user with `people`; returns them as stored.
    fn load(&self, people: &[Person]) -> Vec<UserRecord> {
        self.rt.block_on(async {
            for u in self
                .store
                .list_users(&UserQuery::default(), &[], 0, 1000)
                .await
                .unwrap()
            {
                self.store
                    .delete_user(cvat_server::service::UserId(u.id), &Default::default())
                    .await
                    .unwrap();
            }
            let mut out = Vec::new();
            for p in people {
                let new = NewUser {
                    username: p.username.clone(),
                    password_hash: "!".into(),
                    email: String::new(),
                    first_name: p.first.clone(),
                    last_name: p.last.clone(),
                    is_staff: false,
                    is_superuser: false,
                    groups: vec![],
                    is_active: p.active,
                    logged_in: false,
                    created_via: None,
                    email_verified: None,
                    must_change_password: false,
                    external_id: None,
                };
                out.push(
                    self.store
                        .create_user(&new, &Default::default())
                        .await
                        .unwrap(),
                );
            }
            out
        })
    }

    fn select(&self, q: &UserQuery) -> BTreeSet<i64> {
        self.rt.block_on(async {
            self.store
                .list_users(q, &[], 0, 1000)
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.id)
                .collect()
        })
    }
}

fn fields(u: &UserRecord) -> UserFields<'_> {
    UserFields {
        id: u.id,
        username: &u.username,
        first_name: &u.first_name,
        last_name: &u.last_name,
        is_active: u.is_active,
        logged_in: u.last_login.is_some(),
    }
}

#[test]
fn sql_filter_equals_in_memory_evaluation() {
    let fx = Fixture::new();
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(people in people(), rules in prop::collection::vec(rule(), 8))| {
        let users = fx.load(&people);
        for raw in rules {
            let text = raw.to_string();
            let parsed = filters::parse_filter(&text);
            // Generated rules are well-formed except for type mismatches the parser refuses.
            let Ok(Some(rule)) = parsed else { continue };
            let expected: BTreeSet<i64> = users.iter().filter(|u| eval_rule(&rule, &fields(u))).map(|u| u.id).collect();
            let got = fx.select(&UserQuery { rule: Some(rule), ..Default::default() });
            prop_assert_eq!(&got, &expected, "filter {}", text);
        }
    });
}

#[test]
fn sql_search_equals_in_memory_substring_match() {
    let fx = Fixture::new();
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(people in people(), queries in prop::collection::vec(prop::collection::vec(text(ALPHABET, 3), 1..3), 6))| {
        let users = fx.load(&people);
        for words in queries {
            let raw = words.join(" ");
            let terms = filters::parse_search(Some(&raw)).unwrap();
            let expected: BTreeSet<i64> = users
                .iter()
                .filter(|u| {
                    let hay = [&u.username, &u.first_name, &u.last_name].map(|s| filters::fold(s));
                    terms.iter().all(|t| hay.iter().any(|h| h.contains(t.as_str())))
                })
                .map(|u| u.id)
                .collect();
            let got = fx.select(&UserQuery { search: terms.clone(), ..Default::default() });
            prop_assert_eq!(&got, &expected, "search {:?}", raw);
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    /// The parser never panics: any text gives a rule, nothing, or a 400 message.
    #[test]
    fn filter_parser_never_panics(raw in ".{0,200}") {
        if let Err(e) = filters::parse_filter(&raw) {
            prop_assert!(e.0.starts_with("filter"), "{}", e.0);
        }
    }

    /// Nor on JSON shaped like filters with arbitrary pieces.
    #[test]
    fn filter_parser_never_panics_on_json(v in json_value()) {
        let _ = filters::parse_filter(&v.to_string());
        let _ = filters::parse_sort(Some(&v.to_string()));
        let _ = filters::parse_search(Some(&v.to_string()));
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![
            "var", "id", "username", "and", "or", "!", "in", "==", "<=", ""
        ])
        .prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "var", "and", "or", "!", "!!", "in", "==", "<", "<=", ">", ">=", "x"
                    ]),
                    inner
                ),
                0..3
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}
