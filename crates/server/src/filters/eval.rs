//! In-memory evaluation of a rule (must agree with the SQL of `compile`).

use std::cmp::Ordering;

use super::{Bind, CmpOp, Field, Rule};

impl CmpOp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o.is_eq(),
            CmpOp::Lt => o.is_lt(),
            CmpOp::Le => o.is_le(),
            CmpOp::Gt => o.is_gt(),
            CmpOp::Ge => o.is_ge(),
        }
    }
}

pub struct UserFields<'a> {
    pub id: i64,
    pub username: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub is_active: bool,
    pub logged_in: bool,
}

impl UserFields<'_> {
    fn get(&self, f: Field) -> Bind {
        match f {
            Field::Id => Bind::Int(self.id),
            Field::Username => Bind::Text(self.username.into()),
            Field::FirstName => Bind::Text(self.first_name.into()),
            Field::LastName => Bind::Text(self.last_name.into()),
            Field::IsActive => Bind::Bool(self.is_active),
        }
    }
}

/// Orders two values of the same type (strings byte-wise); `None` for mismatched types.
fn cmp_bind(a: &Bind, b: &Bind) -> Option<Ordering> {
    match (a, b) {
        (Bind::Int(x), Bind::Int(y)) => Some(x.cmp(y)),
        (Bind::Bool(x), Bind::Bool(y)) => Some(x.cmp(y)),
        (Bind::Text(x), Bind::Text(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

pub fn eval_rule(rule: &Rule, u: &UserFields) -> bool {
    let test = |f: Field, op: CmpOp, v: &Bind| cmp_bind(&u.get(f), v).is_some_and(|o| op.holds(o));
    match rule {
        Rule::And(rs) => rs.iter().all(|r| eval_rule(r, u)),
        Rule::Or(rs) => rs.iter().any(|r| eval_rule(r, u)),
        Rule::Not(r) => !eval_rule(r, u),
        Rule::True => true,
        Rule::LoggedIn => u.logged_in,
        Rule::Cmp(f, op, v) => test(*f, *op, v),
        Rule::Between(lo, f, hi) => test(*f, CmpOp::Ge, lo) && test(*f, CmpOp::Le, hi),
        Rule::In(f, vs) => vs.iter().any(|v| test(*f, CmpOp::Eq, v)),
        Rule::Contains(f, s) => match u.get(*f) {
            Bind::Int(i) => i.to_string().contains(s.as_str()),
            Bind::Bool(b) => (if b { "true" } else { "false" }).contains(s.as_str()),
            Bind::Text(t) => t.contains(s.as_str()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::testing::*;
    use crate::filters::*;
    use serde_json::{json, Value};
    use Field::*;

    #[test]
    fn eval() {
        let u = UserFields {
            id: 12,
            username: "Zoe",
            first_name: "ä",
            last_name: "",
            is_active: false,
            logged_in: true,
        };
        let yes = [
            r#"{"<":[{"var":"username"},"a"]}"#,
            r#"{">":[{"var":"first_name"},"z"]}"#,
            r#"{"in":["",{"var":"last_name"}]}"#,
            r#"{"in":["2",{"var":"id"}]}"#,
            r#"{"in":["als",{"var":"is_active"}]}"#,
            r#"{"<=":[12,{"var":"id"},12]}"#,
            r#"{"<":[{"var":"is_active"},true]}"#,
            r#"{"in":[{"var":"username"},["x","Zoe"]]}"#,
            r#"{"var":"last_login"}"#,
            r#"{"var":"date_joined"}"#,
        ];
        let no = [
            r#"{"in":["zo",{"var":"username"}]}"#,
            r#"{"!":{"var":"id"}}"#,
            r#"{"<":[11,{"var":"id"},12]}"#,
        ];
        for raw in yes {
            assert!(eval_rule(&rule(raw), &u), "{raw}")
        }
        for raw in no {
            assert!(!eval_rule(&rule(raw), &u), "{raw}")
        }
        assert!(!eval_rule(&Rule::Cmp(Id, CmpOp::Eq, text("12")), &u)); // mismatched types never match
    }

    use crate::test_rng::Rng;

    impl Rng {
        fn text(&mut self) -> String {
            let alphabet = [
                'a', 'b', 'A', 'Z', 'é', '1', '\'', '"', '\\', ' ', 'ß', '\n',
            ];
            (0..self.below(4))
                .map(|_| alphabet[self.below(alphabet.len() as u64) as usize])
                .collect()
        }
        fn value(&mut self, f: Field) -> Bind {
            match f {
                Id => Bind::Int(self.below(20) as i64 - 3),
                IsActive => Bind::Bool(self.below(2) == 0),
                _ => Bind::Text(self.text()),
            }
        }
        fn rule(&mut self, depth: u32) -> Rule {
            let f = Field::ALL[self.below(5) as usize];
            match self.below(if depth == 0 { 5 } else { 8 }) {
                0 if self.below(4) == 0 => Rule::LoggedIn,
                0 => Rule::True,
                1 => Rule::Cmp(f, CmpOp::TABLE[self.below(5) as usize].0, self.value(f)),
                2 => Rule::Between(self.value(f), f, self.value(f)),
                3 => Rule::In(f, (0..self.below(3)).map(|_| self.value(f)).collect()),
                4 if f != IsActive => Rule::Contains(f, self.text()),
                4 | 5 => Rule::Not(Box::new(self.rule(depth - depth.min(1)))),
                6 => Rule::And((0..=self.below(3)).map(|_| self.rule(depth - 1)).collect()),
                _ => Rule::Or((0..=self.below(3)).map(|_| self.rule(depth - 1)).collect()),
            }
        }
    }

    /// The JSON-logic form `parse_filter` reads back as the same rule.
    fn to_json(r: &Rule) -> Value {
        let var = |f: &Field| json!({"var": f.name()});
        let val = |b: &Bind| match b {
            Bind::Int(i) => json!(i),
            Bind::Bool(b) => json!(b),
            Bind::Text(s) => json!(s),
        };
        match r {
            Rule::And(rs) => json!({"and": rs.iter().map(to_json).collect::<Vec<_>>()}),
            Rule::Or(rs) => json!({"or": rs.iter().map(to_json).collect::<Vec<_>>()}),
            Rule::Not(r) => json!({"!": to_json(r)}),
            Rule::True => json!({"var": "username"}),
            Rule::LoggedIn => json!({"var": "last_login"}),
            Rule::Cmp(f, op, v) => {
                let op = CmpOp::TABLE.iter().find(|t| t.0 == *op).unwrap().1;
                json!({op: [var(f), val(v)]})
            }
            Rule::Between(lo, f, hi) => json!({"<=": [val(lo), var(f), val(hi)]}),
            Rule::In(f, vs) => json!({"in": [var(f), vs.iter().map(val).collect::<Vec<_>>()]}),
            Rule::Contains(f, s) => json!({"in": [s, var(f)]}),
        }
    }

    #[test]
    fn randomized() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let names: Vec<String> = (0..8).map(|_| rng.text()).collect();
        for _ in 0..3000 {
            let r = rng.rule(3);
            let raw = to_json(&r).to_string();
            assert_eq!(parse_filter(&raw), Ok(Some(r.clone())), "{raw}");
            for d in [Dialect::Sqlite, Dialect::Postgres] {
                let (s, binds) = sql(&r, d);
                assert_eq!(s.matches('$').count(), binds.len());
                assert_eq!(s.matches('(').count(), s.matches(')').count(), "{s}");
            }
            let n = |rng: &mut Rng| &names[rng.below(8) as usize];
            let u = UserFields {
                id: rng.below(20) as i64 - 3,
                username: n(&mut rng),
                first_name: n(&mut rng),
                last_name: n(&mut rng),
                is_active: rng.below(2) == 0,
                logged_in: rng.below(2) == 0,
            };
            let _ = eval_rule(&r, &u);
        }
        // Random JSON soup: parsing never panics and every error is a `filter...` message.
        let atoms = [
            json!(1),
            json!(-2.5),
            json!("id"),
            json!("abc"),
            json!(null),
            json!(true),
            json!([]),
            json!({}),
        ];
        let keys = [
            "and", "or", "!", "!!", "var", "==", "<", "<=", ">", ">=", "in", "!=", "x",
        ];
        fn soup(rng: &mut Rng, depth: u32, atoms: &[Value], keys: &[&str]) -> Value {
            match rng.below(if depth == 0 { 2 } else { 5 }) {
                0 => atoms[rng.below(atoms.len() as u64) as usize].clone(),
                1 => {
                    json!({"var": (["id", "username", "is_active", "email"][rng.below(4) as usize])})
                }
                2 => Value::Array(
                    (0..rng.below(4))
                        .map(|_| soup(rng, depth - 1, atoms, keys))
                        .collect(),
                ),
                _ => {
                    json!({keys[rng.below(keys.len() as u64) as usize]: soup(rng, depth - 1, atoms, keys)})
                }
            }
        }
        for _ in 0..20000 {
            let raw = soup(&mut rng, 4, &atoms, &keys).to_string();
            if let Err(FilterError(e)) = parse_filter(&raw) {
                assert!(e.starts_with("filter"), "{raw}: {e}");
            }
        }
    }
}
