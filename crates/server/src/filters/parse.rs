//! Query parameters to typed requests: the JSON-logic `filter` to a [`Rule`] tree (mirroring
//! CVAT's `JsonLogicFilter._build_Q`, values coerced as Django would), `sort` to keys and
//! `search` to case-folded terms.

use serde_json::Value;

use super::{err, fold, Bind, CmpOp, Field, FilterError, Rule};
use crate::pycompat::{is_py_space, py_int, py_repr, py_str};

/// User columns outside [`Field`] that `{"var":f}` alone may name; none is ever NULL.
const NOT_NULL_COLUMNS: [&str; 5] = [
    "email",
    "password",
    "is_staff",
    "is_superuser",
    "date_joined",
];

impl CmpOp {
    fn from_json(op: &str) -> Option<CmpOp> {
        Self::TABLE.iter().find(|t| t.1 == op).map(|t| t.0)
    }
}

// ---------------------------------------------------------------------------------------------
// filter parsing (§8.4, mirroring CVAT's `JsonLogicFilter._build_Q`)

/// Parses the `filter` query parameter; `""` means no filter.
pub fn parse_filter(raw: &str) -> Result<Option<Rule>, FilterError> {
    if raw.is_empty() {
        return Ok(None);
    }
    // serde_json's recursion limit (128) turns absurd nesting into a syntax error.
    let v: Value = serde_json::from_str(raw).map_err(|e| {
        // Python's json reads 1e400 as inf (then CVAT crashed); serde_json refuses it.
        FilterError(
            if e.to_string().starts_with("number out of range") {
                "filter: a number is out of range"
            } else {
                "filter: Json syntax should be used"
            }
            .into(),
        )
    })?;
    // CVAT: `if not len(rules)`, so also the JSON string "".
    if let Value::Object(m) = &v {
        if m.is_empty() {
            return Err(FilterError("filter shouldn't be empty".into()));
        }
    }
    if v == Value::Array(vec![]) || v == "" {
        return Err(FilterError("filter shouldn't be empty".into()));
    }
    parse_rule(&v).map(Some)
}

fn parse_rule(v: &Value) -> Result<Rule, FilterError> {
    // Only the first key counts (serde_json's preserve_order keeps the input order).
    let Some((op, args)) = v.as_object().and_then(|m| m.iter().next()) else {
        return err(format!(
            "a rule must be a non-empty JSON object, got {}",
            py_repr(v)
        ));
    };
    let op = op.as_str();
    match op {
        "and" | "or" => {
            let subs = match args.as_array() {
                Some(a) if !a.is_empty() => {
                    a.iter().map(parse_rule).collect::<Result<Vec<_>, _>>()?
                }
                _ => return err(format!("'{op}' expects a non-empty list of rules")),
            };
            Ok(if op == "and" {
                Rule::And(subs)
            } else {
                Rule::Or(subs)
            })
        }
        "!" | "!!" => {
            // JSON-logic also allows the operand wrapped in a one-element array.
            let inner = match args.as_array().map(Vec::as_slice) {
                Some([one]) => parse_rule(one)?,
                _ => parse_rule(args)?,
            };
            Ok(if op == "!" {
                Rule::Not(Box::new(inner))
            } else {
                inner
            })
        }
        // CVAT builds `f__isnull=False` here without its allow-list: any column of the user
        // model works (spec §8.4). `last_login` is the only nullable one.
        "var" => match args.as_str() {
            Some("last_login") => Ok(Rule::LoggedIn),
            Some(name) if Field::from_name(name).is_some() || NOT_NULL_COLUMNS.contains(&name) => {
                Ok(Rule::True)
            }
            _ => Err(unsupported(args)),
        },
        _ => {
            let list = args.as_array().map(Vec::as_slice).unwrap_or(&[]);
            match (CmpOp::from_json(op), list) {
                (Some(cmp), [var, value]) => {
                    let f = var_field(var, op, "first")?;
                    if value.is_null() && cmp == CmpOp::Eq {
                        return Ok(Rule::In(f, vec![])); // Django: `f IS NULL`, never true here
                    }
                    Ok(Rule::Cmp(f, cmp, coerce(f, value, cmp)?))
                }
                (Some(CmpOp::Le), [lo, var, hi]) => {
                    let f = var_field(var, op, "second")?;
                    Ok(Rule::Between(
                        coerce(f, lo, CmpOp::Ge)?,
                        f,
                        coerce(f, hi, CmpOp::Le)?,
                    ))
                }
                (Some(CmpOp::Lt), [lo, var, hi]) => {
                    let f = var_field(var, op, "second")?;
                    Ok(Rule::And(vec![
                        Rule::Cmp(f, CmpOp::Gt, coerce(f, lo, CmpOp::Gt)?),
                        Rule::Cmp(f, CmpOp::Lt, coerce(f, hi, CmpOp::Lt)?),
                    ]))
                }
                // CVAT ignores arguments after the second one.
                (None, [first, second, ..]) if op == "in" => parse_in(first, second),
                _ => err(format!(
                    "{op} operation with {} arguments is not implemented",
                    py_str(args)
                )),
            }
        }
    }
}

/// `{"in":[{"var":f}, list]}` or `{"in":[text, {"var":f}]}`.
fn parse_in(first: &Value, second: &Value) -> Result<Rule, FilterError> {
    if first.is_object() {
        let f = var_field(first, "in", "first")?;
        // Django iterates whatever it gets: a string is its characters, a dict its keys.
        let items: Vec<Value> = match second {
            Value::Array(a) => a.clone(),
            Value::String(s) => s.chars().map(|c| Value::String(c.into())).collect(),
            Value::Object(m) => m.keys().map(|k| Value::String(k.clone())).collect(),
            _ => {
                return err(format!(
                    "the second argument of in must be a list, got {}",
                    py_repr(second)
                ))
            }
        };
        // Django's `In` lookup drops None.
        let binds = items
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| coerce(f, v, CmpOp::Eq));
        return Ok(Rule::In(f, binds.collect::<Result<_, _>>()?));
    }
    if !second.is_object() {
        return err(
            "in operation expects a variable ({'var': ...}) as one of its arguments".into(),
        );
    }
    let f = var_field(second, "in", "second")?;
    // Django's `contains` str()s its value and, on Postgres, casts non-text columns with `::text`.
    Ok(Rule::Contains(f, py_text(first, f)?))
}

/// The field named by an argument that must be `{"var": name}`.
fn var_field(arg: &Value, op: &str, position: &str) -> Result<Field, FilterError> {
    let Some(obj) = arg.as_object() else {
        return err(format!(
            "{op} operation expects a variable ({{'var': ...}}) as its {position} argument"
        ));
    };
    // CVAT: `args[0]['var']` (KeyError -> "'var' term is not supported"), then `lookup_fields[name]`.
    let name = obj
        .get("var")
        .ok_or_else(|| unsupported(&Value::String("var".into())))?;
    name.as_str()
        .and_then(Field::from_name)
        .ok_or_else(|| unsupported(name))
}

/// CVAT's `KeyError` message: the key's Python repr.
fn unsupported(name: &Value) -> FilterError {
    FilterError(format!("filter: {} term is not supported", py_repr(name)))
}

/// Coerces a JSON value the way Django prepares it for `field` in a lookup `op`.
fn coerce(field: Field, v: &Value, op: CmpOp) -> Result<Bind, FilterError> {
    let bad = || {
        err(format!(
            "{} is not a valid value for '{}'",
            py_repr(v),
            field.name()
        ))
    };
    match field {
        // `int(value)`, except that Django rounds floats up for `lt`/`gte` (IntegerFieldFloatRounding).
        Field::Id => match v {
            Value::Bool(b) => Ok(Bind::Int(*b as i64)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Ok(Bind::Int(i)),
                None => {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    let r = if matches!(op, CmpOp::Lt | CmpOp::Ge) {
                        f.ceil()
                    } else {
                        f.trunc()
                    };
                    // Both bounds are powers of two, so the comparisons are exact.
                    if r >= -(2f64.powi(63)) && r < 2f64.powi(63) {
                        Ok(Bind::Int(r as i64))
                    } else {
                        bad()
                    }
                }
            },
            Value::String(s) => py_int(s).map(Bind::Int).map_or_else(bad, Ok),
            _ => bad(),
        },
        // Django's BooleanField.to_python (1/0 compare equal to True/False), plus "true"/"false".
        Field::IsActive => match v {
            Value::Bool(b) => Ok(Bind::Bool(*b)),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Bind::Bool(true)),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Bind::Bool(false)),
            Value::String(s) => match s.as_str() {
                "t" | "True" | "true" | "1" => Ok(Bind::Bool(true)),
                "f" | "False" | "false" | "0" => Ok(Bind::Bool(false)),
                _ => bad(),
            },
            _ => bad(),
        },
        _ => py_text(v, field).map(Bind::Text),
    }
}

/// Python's `str(value)` for a text lookup; null and NUL characters (which Postgres can't take) fail.
fn py_text(v: &Value, field: Field) -> Result<String, FilterError> {
    let s = py_str(v);
    if v.is_null() || s.contains('\0') {
        return err(format!(
            "{} is not a valid value for '{}'",
            py_repr(v),
            field.name()
        ));
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// sort (§8.2) and search (§8.3)

/// `sort`: comma-separated names, optional leading `-`; invalid terms dropped, duplicates keep the
/// first; never empty (default `-id`).
pub fn parse_sort(raw: Option<&str>) -> Vec<(Field, bool /*desc*/)> {
    let mut keys: Vec<(Field, bool)> = Vec::new();
    for term in raw
        .unwrap_or("")
        .split(',')
        .map(|t| t.trim_matches(is_py_space))
    {
        let (desc, name) = term.strip_prefix('-').map_or((false, term), |n| (true, n));
        if let Some(f) = Field::from_name(name) {
            if !keys.iter().any(|(k, _)| *k == f) {
                keys.push((f, desc))
            }
        }
    }
    if keys.is_empty() {
        keys.push((Field::Id, true))
    }
    keys
}

/// The most distinct `search` terms one request may have (after dropping repeats): each term is
/// one more substring test per row, and SQLite refuses an expression nested about 1000 deep.
/// CVAT has no limit; past this one the answer is a 400 `["search: ..."]`, never a 500.
pub const MAX_SEARCH_TERMS: usize = 100;

/// DRF `SearchFilter` terms, lower-cased to match `u.search_key`. Repeats are dropped, and so
/// is a term that another term contains (every row matching the longer one matches it too).
pub fn parse_search(raw: Option<&str>) -> Result<Vec<String>, FilterError> {
    let raw = raw.unwrap_or("").replace('\0', "").replace(',', " ");
    let mut seen = std::collections::HashSet::new();
    let terms: Vec<String> = raw
        .split(is_py_space)
        .filter(|t| !t.is_empty())
        .map(fold)
        .filter(|t| seen.insert(t.clone()))
        .collect();
    if terms.len() > MAX_SEARCH_TERMS {
        return Err(FilterError(format!(
            "search: at most {MAX_SEARCH_TERMS} different terms are supported, got {}",
            terms.len()
        )));
    }
    let implied = |t: &String| terms.iter().any(|o| o != t && o.contains(t.as_str()));
    Ok(terms.iter().filter(|t| !implied(t)).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::testing::*;
    use crate::filters::*;
    use Field::*;

    #[test]
    fn operators() {
        let eq = Rule::Cmp(Id, CmpOp::Eq, Bind::Int(3));
        assert_eq!(parse_filter(""), Ok(None));
        assert_eq!(rule(r#"{"==":[{"var":"id"},3]}"#), eq);
        assert_eq!(
            rule(r#"{"and":[{"==":[{"var":"id"},3]}]}"#),
            Rule::And(vec![eq.clone()])
        );
        assert_eq!(
            rule(r#"{"or":[{"var":"id"},{"!!":{"var":"username"}}]}"#),
            Rule::Or(vec![Rule::True, Rule::True])
        );
        assert_eq!(
            rule(r#"{"!":{"==":[{"var":"id"},3]}}"#),
            Rule::Not(Box::new(eq.clone()))
        );
        assert_eq!(
            rule(r#"{"!":[{"==":[{"var":"id"},3]}]}"#),
            Rule::Not(Box::new(eq.clone()))
        );
        assert_eq!(rule(r#"{"==":[{"var":"id"},3],"junk":1}"#), eq);
        for (op, c) in [
            ("<", CmpOp::Lt),
            ("<=", CmpOp::Le),
            (">", CmpOp::Gt),
            (">=", CmpOp::Ge),
        ] {
            assert_eq!(
                rule(&format!(r#"{{"{op}":[{{"var":"first_name"}},"M"]}}"#)),
                Rule::Cmp(FirstName, c, text("M"))
            );
        }
        assert_eq!(
            rule(r#"{"<=":[1,{"var":"id"},5]}"#),
            Rule::Between(Bind::Int(1), Id, Bind::Int(5))
        );
        assert_eq!(
            rule(r#"{"<":[1,{"var":"id"},5]}"#),
            Rule::And(vec![
                Rule::Cmp(Id, CmpOp::Gt, Bind::Int(1)),
                Rule::Cmp(Id, CmpOp::Lt, Bind::Int(5))
            ])
        );
        assert_eq!(
            rule(r#"{"in":[{"var":"is_active"},[true,null]]}"#),
            Rule::In(IsActive, vec![Bind::Bool(true)])
        );
        assert_eq!(
            rule(r#"{"in":[{"var":"username"},"ab"]}"#),
            Rule::In(Username, vec![text("a"), text("b")])
        );
        assert_eq!(
            rule(r#"{"in":[{"var":"id"},"12",0]}"#),
            Rule::In(Id, vec![Bind::Int(1), Bind::Int(2)])
        );
        assert_eq!(
            rule(r#"{"in":["Ad",{"var":"last_name"}]}"#),
            Rule::Contains(LastName, "Ad".into())
        );
        assert_eq!(
            rule(r#"{"in":[1,{"var":"id"}]}"#),
            Rule::Contains(Id, "1".into())
        );
        assert_eq!(rule(r#"{"==":[{"var":"id"},null]}"#), Rule::In(Id, vec![]));
    }

    #[test]
    fn coercion() {
        let val = |f: &str, v: &str| match rule(&format!(r#"{{">":[{{"var":"{f}"}},{v}]}}"#)) {
            Rule::Cmp(_, _, b) => b,
            r => panic!("{r:?}"),
        };
        for (v, want) in [
            ("5", 5),
            ("\"5\"", 5),
            ("\" +5_0 \"", 50),
            ("5.0", 5),
            ("5.9", 5),
            ("-5.9", -5),
            ("true", 1),
        ] {
            assert_eq!(val("id", v), Bind::Int(want), "{v}");
        }
        // Django rounds floats up for `lt` and `gte`.
        assert_eq!(
            rule(r#"{"<":[{"var":"id"},5.1]}"#),
            Rule::Cmp(Id, CmpOp::Lt, Bind::Int(6))
        );
        assert_eq!(
            rule(r#"{"<=":[1.5,{"var":"id"},3.5]}"#),
            Rule::Between(Bind::Int(2), Id, Bind::Int(3))
        );
        for v in ["1", "1.0", "true", "\"t\"", "\"True\"", "\"true\"", "\"1\""] {
            assert_eq!(val("is_active", v), Bind::Bool(true), "{v}");
        }
        for v in ["0", "false", "\"f\"", "\"False\"", "\"false\"", "\"0\""] {
            assert_eq!(val("is_active", v), Bind::Bool(false), "{v}");
        }
        for (v, want) in [
            ("5", "5"),
            ("true", "True"),
            ("1.0", "1.0"),
            ("1e16", "1e+16"),
            ("[1,\"a\"]", "[1, 'a']"),
        ] {
            assert_eq!(val("username", v), text(want), "{v}");
        }
    }

    #[test]
    fn cvat_error_messages() {
        assert_eq!(error("nojson"), "filter: Json syntax should be used");
        assert_eq!(
            error(&("[".repeat(500) + &"]".repeat(500))),
            "filter: Json syntax should be used"
        );
        for raw in ["{}", "[]", "\"\""] {
            assert_eq!(error(raw), "filter shouldn't be empty");
        }
        assert_eq!(
            error(r#"{"==":[{"var":"email"},1]}"#),
            "filter: 'email' term is not supported"
        );
        assert_eq!(
            error(r#"{"in":[{"var":"email"},[1]]}"#),
            "filter: 'email' term is not supported"
        );
        assert_eq!(
            error(r#"{"in":["a",{"var":"email"}]}"#),
            "filter: 'email' term is not supported"
        );
        assert_eq!(
            error(r#"{"==":[{"var":1},1]}"#),
            "filter: 1 term is not supported"
        );
        assert_eq!(
            error(r#"{"==":[{"x":"id"},1]}"#),
            "filter: 'var' term is not supported"
        );
        // Alone, `var` may name any user column (CVAT skips the allow-list there).
        assert_eq!(rule(r#"{"var":"email"}"#), Rule::True);
        assert_eq!(
            rule(r#"{"!":{"var":"last_login"}}"#),
            Rule::Not(Box::new(Rule::LoggedIn))
        );
        assert_eq!(
            error(r#"{"var":"nosuchfield"}"#),
            "filter: 'nosuchfield' term is not supported"
        );
        assert_eq!(
            error(r#"{"!=":[{"var":"id"},1]}"#),
            "filter: != operation with [{'var': 'id'}, 1] arguments is not implemented"
        );
        assert_eq!(
            error(r#"{"==":[{"var":"id"},1,2]}"#),
            "filter: == operation with [{'var': 'id'}, 1, 2] arguments is not implemented"
        );
        assert_eq!(
            error(r#"{">=":"abc"}"#),
            "filter: >= operation with abc arguments is not implemented"
        );
    }

    #[test]
    fn cvat_500s_are_filter_errors() {
        let inputs = [
            "1",
            "\"abc\"",
            "null",
            "true",
            "[1]",
            r#"{"and":[]}"#,
            r#"{"and":1}"#,
            r#"{"or":[1]}"#,
            r#"{"!":1}"#,
            r#"{"and":[{}]}"#,
            r#"{"==":[2,{"var":"id"}]}"#,
            r#"{"var":""}"#,
            r#"{"var":["id"]}"#,
            r#"{"in":[{"var":"id"},"abc"]}"#,
            r#"{"==":[{"var":"id"},"abc"]}"#,
            r#"{"==":[{"var":"id"},99999999999999999999]}"#,
            r#"{"==":[{"var":"id"},1e400]}"#,
            r#"{"==":[{"var":"id"},-1e400]}"#,
            r#"{"==":[{"var":"is_active"},"maybe"]}"#,
            r#"{"<=":[{"var":"id"},1,2]}"#,
            r#"{"in":[{"var":"id"}]}"#,
            r#"{"in":[{"var":"id"},5]}"#,
            r#"{"in":["a","b"]}"#,
            r#"{"<":[{"var":"id"},null]}"#,
            r#"{"==":[{"var":"username"},"a\u0000"]}"#,
            r#"{"==":[{"var":"id"},"5.0"]}"#,
            r#"{"==":[{"var":["id"]},1]}"#,
            r#"{"in":[null,{"var":"username"}]}"#,
            r#"{"==":[{"var":"is_active"},2]}"#,
            r#"{"!":[]}"#,
        ];
        for raw in inputs {
            assert!(error(raw).starts_with("filter: "), "{raw}: {}", error(raw));
        }
        assert_eq!(
            error(r#"{"<":[{"var":"id"},1e400]}"#),
            "filter: a number is out of range"
        );
        assert_eq!(
            error(r#"{"and":[]}"#),
            "filter: 'and' expects a non-empty list of rules"
        );
        assert_eq!(
            error(r#"{"==":[{"var":"id"},"abc"]}"#),
            "filter: 'abc' is not a valid value for 'id'"
        );
    }

    #[test]
    fn sort_and_search() {
        assert_eq!(parse_sort(None), vec![(Id, true)]);
        assert_eq!(parse_sort(Some("")), vec![(Id, true)]);
        assert_eq!(
            parse_sort(Some("email,--id, ,date_joined")),
            vec![(Id, true)]
        );
        assert_eq!(
            parse_sort(Some(
                " -username , is_active,username,first_name,-last_name"
            )),
            vec![
                (Username, true),
                (IsActive, false),
                (FirstName, false),
                (LastName, true)
            ]
        );
        assert_eq!(parse_search(None).unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_search(Some("User,\0FIRST\t\u{1f}Ä  ")).unwrap(),
            vec!["user", "first", "ä"]
        );
        assert_eq!(parse_search(Some(" , ")).unwrap(), Vec::<String>::new());
        // Repeats and terms inside other terms go; the order of the rest stays.
        assert_eq!(
            parse_search(Some("ann jo ANN o joanna x")).unwrap(),
            vec!["joanna", "x"]
        );
        let many = |n: usize| {
            (0..n)
                .map(|i| format!("t{i}x"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            parse_search(Some(&many(MAX_SEARCH_TERMS))).unwrap().len(),
            MAX_SEARCH_TERMS
        );
        assert_eq!(parse_search(Some(&"ab ".repeat(5000))).unwrap(), vec!["ab"]);
        let e = parse_search(Some(&many(MAX_SEARCH_TERMS + 1)))
            .unwrap_err()
            .0;
        assert_eq!(
            e,
            "search: at most 100 different terms are supported, got 101"
        );
    }
}
