//! The list language of the invitation and membership lists (spec §4.7): `search`, `sort`,
//! the simple exact-match filters and the JSON-logic `filter` over each list's own fields,
//! for both generations of clients. Typed here, compiled to SQL with bound parameters; a
//! variable the list does not have (e.g. `id` on invitations, a 500 in CVAT) is a 400.

use serde_json::Value;

use super::{fold, like_contains, Bind, CmpOp, Dialect, FilterError, SqlBuf};
use crate::pycompat::{is_py_space, py_int, py_repr, py_str};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Text,
    /// Memberships' `user`: an id when given a number (2.3.0), else a username (newest).
    UserRef,
}

/// A field of a list: its query name, SQL column and type.
#[derive(Debug, Clone, Copy)]
pub struct ListField {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
}

/// One list's vocabulary.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    /// JSON-logic variables and simple filters.
    pub filters: &'static [ListField],
    pub simple: &'static [&'static str],
    pub sort: &'static [ListField],
    /// Case-insensitive contains over any of these text columns.
    pub search: &'static [&'static str],
    /// Column for `UserRef` given as an id.
    pub user_id_column: &'static str,
}

/// A parsed list request.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub search: Vec<String>,
    pub conditions: Vec<Cond>,
    /// (column, is text, descending); empty: the list's default order.
    pub order: Vec<(&'static str, bool, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    True,
    Cmp(&'static str, bool, CmpOp, Bind),
    In(&'static str, Vec<Bind>),
    Contains(&'static str, String),
}

fn bad<T>(msg: String) -> Result<T, FilterError> {
    Err(FilterError(format!("filter: {msg}")))
}

impl ListSpec {
    fn field(&self, name: &str) -> Option<ListField> {
        self.filters.iter().copied().find(|f| f.name == name)
    }

    /// `search`, `sort`, the simple filters and `filter` from the query pairs.
    pub fn parse(&self, query: &[(String, String)]) -> Result<ListRequest, FilterError> {
        let last = |k: &str| {
            query
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        let mut req = ListRequest {
            search: super::parse_search(last("search"))?,
            ..ListRequest::default()
        };
        for term in last("sort").unwrap_or("").split(',') {
            let term = term.trim_matches(is_py_space);
            let (desc, name) = term.strip_prefix('-').map_or((false, term), |n| (true, n));
            if let Some(f) = self.sort.iter().find(|f| f.name == name) {
                if !req.order.iter().any(|o| o.0 == f.column) {
                    req.order.push((f.column, f.kind == Kind::Text, desc));
                }
            }
        }
        for name in self.simple {
            if let (Some(v), Some(f)) = (last(name), self.field(name)) {
                let value = Value::String(v.to_string());
                let cond = self.cmp(f, CmpOp::Eq, &value).map_err(|e| {
                    FilterError(format!("{name}: {}", e.0.trim_start_matches("filter: ")))
                })?;
                req.conditions.push(cond);
            }
        }
        if let Some(raw) = last("filter").filter(|r| !r.is_empty()) {
            let v: Value = serde_json::from_str(raw)
                .map_err(|_| FilterError("filter: Json syntax should be used".into()))?;
            if v.as_object().is_some_and(|m| m.is_empty()) || v == Value::Array(vec![]) || v == "" {
                return Err(FilterError("filter shouldn't be empty".into()));
            }
            req.conditions.push(self.rule(&v)?);
        }
        Ok(req)
    }

    fn var(&self, arg: &Value) -> Result<ListField, FilterError> {
        let name = arg.as_object().and_then(|o| o.get("var"));
        let name = name
            .ok_or_else(|| FilterError("filter: a variable ({'var': ...}) is expected".into()))?;
        name.as_str()
            .and_then(|n| self.field(n))
            .ok_or_else(|| FilterError(format!("filter: {} term is not supported", py_repr(name))))
    }

    fn rule(&self, v: &Value) -> Result<Cond, FilterError> {
        let Some((op, args)) = v.as_object().and_then(|m| m.iter().next()) else {
            return bad(format!(
                "a rule must be a non-empty JSON object, got {}",
                py_repr(v)
            ));
        };
        let list = args.as_array().map(Vec::as_slice).unwrap_or(&[]);
        match (op.as_str(), list) {
            ("and" | "or", [_, ..]) => {
                let subs = list
                    .iter()
                    .map(|r| self.rule(r))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "and" {
                    Cond::And(subs)
                } else {
                    Cond::Or(subs)
                })
            }
            ("!", [one]) => Ok(Cond::Not(Box::new(self.rule(one)?))),
            ("!", _) if args.is_object() => Ok(Cond::Not(Box::new(self.rule(args)?))),
            ("var", _) => {
                self.var(v)?;
                Ok(Cond::True)
            }
            ("in", [first, second, ..]) if first.is_object() => {
                let f = self.var(first)?;
                let items = second.as_array().ok_or_else(|| {
                    FilterError(format!(
                        "filter: the second argument of in must be a list, got {}",
                        py_repr(second)
                    ))
                })?;
                let mut binds = Vec::new();
                let mut column = f.column;
                for item in items.iter().filter(|i| !i.is_null()) {
                    match self.cmp(f, CmpOp::Eq, item)? {
                        Cond::Cmp(c, _, _, b) => {
                            column = c;
                            binds.push(b)
                        }
                        _ => return bad("unsupported in".into()),
                    }
                }
                Ok(Cond::In(column, binds))
            }
            ("in", [text, var, ..]) if var.is_object() => {
                let f = self.var(var)?;
                if !matches!(f.kind, Kind::Text | Kind::UserRef) {
                    return bad(format!("'{}' is not a text field", f.name));
                }
                Ok(Cond::Contains(f.column, py_str(text)))
            }
            (op, [var, value]) => match cmp_op(op) {
                Some(c) => self.cmp(self.var(var)?, c, value),
                None => bad(format!(
                    "{op} operation with {} arguments is not implemented",
                    py_str(args)
                )),
            },
            _ => bad(format!(
                "{op} operation with {} arguments is not implemented",
                py_str(args)
            )),
        }
    }

    /// `f op value`, the value coerced as Django would for the field.
    fn cmp(&self, f: ListField, op: CmpOp, v: &Value) -> Result<Cond, FilterError> {
        let invalid = || {
            bad(format!(
                "{} is not a valid value for '{}'",
                py_repr(v),
                f.name
            ))
        };
        let text = |s: String| Ok(Cond::Cmp(f.column, true, op, Bind::Text(s)));
        match (f.kind, v) {
            (Kind::Int, Value::Number(n)) => n.as_i64().map_or_else(invalid, |i| {
                Ok(Cond::Cmp(f.column, false, op, Bind::Int(i)))
            }),
            (Kind::Int, Value::String(s)) => py_int(s).map_or_else(invalid, |i| {
                Ok(Cond::Cmp(f.column, false, op, Bind::Int(i)))
            }),
            (Kind::UserRef, Value::Number(n)) => n.as_i64().map_or_else(invalid, |i| {
                Ok(Cond::Cmp(self.user_id_column, false, op, Bind::Int(i)))
            }),
            (Kind::Bool, _) => {
                let b = match v {
                    Value::Bool(b) => Some(*b),
                    Value::Number(n) => n.as_i64().and_then(|i| match i {
                        1 => Some(true),
                        0 => Some(false),
                        _ => None,
                    }),
                    Value::String(s) => match s.as_str() {
                        "t" | "True" | "true" | "1" => Some(true),
                        "f" | "False" | "false" | "0" => Some(false),
                        _ => None,
                    },
                    _ => None,
                };
                b.map_or_else(invalid, |b| {
                    Ok(Cond::Cmp(f.column, false, op, Bind::Bool(b)))
                })
            }
            (Kind::Text | Kind::UserRef, Value::String(s)) => text(s.clone()),
            (Kind::Text | Kind::UserRef, Value::Number(_) | Value::Bool(_)) => text(py_str(v)),
            _ => invalid(),
        }
    }
}

fn cmp_op(op: &str) -> Option<CmpOp> {
    CmpOp::TABLE.iter().find(|t| t.1 == op).map(|t| t.0)
}

fn sql_op(op: CmpOp) -> &'static str {
    CmpOp::TABLE.iter().find(|t| t.0 == op).map_or("=", |t| t.2)
}

fn ordered(column: &str, text: bool, dialect: Dialect) -> String {
    match (text, dialect) {
        (true, Dialect::Postgres) => format!("{column} COLLATE \"C\""),
        _ => column.to_string(),
    }
}

fn compile(c: &Cond, dialect: Dialect, out: &mut SqlBuf) {
    match c {
        Cond::And(cs) | Cond::Or(cs) => {
            let sep = if matches!(c, Cond::And(_)) {
                " AND "
            } else {
                " OR "
            };
            out.push("(");
            for (i, sub) in cs.iter().enumerate() {
                if i > 0 {
                    out.push(sep);
                }
                compile(sub, dialect, out);
            }
            out.push(")");
        }
        Cond::Not(sub) => {
            out.push("(NOT ");
            compile(sub, dialect, out);
            out.push(")");
        }
        Cond::True => out.push("(1=1)"),
        Cond::Cmp(col, text, op, v) => {
            out.push(&format!(
                "({} {} ",
                ordered(col, *text, dialect),
                sql_op(*op)
            ));
            out.bind(v.clone());
            out.push(")");
        }
        Cond::In(_, vs) if vs.is_empty() => out.push("(1=0)"),
        Cond::In(col, vs) => {
            out.push(&format!("({col} IN ("));
            for (i, v) in vs.iter().enumerate() {
                if i > 0 {
                    out.push(", ");
                }
                out.bind(v.clone());
            }
            out.push("))");
        }
        Cond::Contains(col, s) => {
            let f = if dialect == Dialect::Sqlite {
                "instr"
            } else {
                "strpos"
            };
            out.push(&format!("({f}(COALESCE({col}, ''), "));
            out.bind(Bind::Text(s.clone()));
            out.push(") > 0)");
        }
    }
}

impl ListRequest {
    /// Appends ` AND ...` for the search terms and conditions.
    pub fn push_where(&self, spec: &ListSpec, dialect: Dialect, out: &mut SqlBuf) {
        for term in &self.search {
            out.push(" AND (");
            for (i, col) in spec.search.iter().enumerate() {
                if i > 0 {
                    out.push(" OR ");
                }
                out.push(&format!("LOWER(COALESCE({col}, '')) LIKE "));
                out.bind(Bind::Text(like_contains(&fold(term))));
                out.push(" ESCAPE '\\'");
            }
            out.push(")");
        }
        for c in &self.conditions {
            out.push(" AND ");
            compile(c, dialect, out);
        }
    }

    /// Appends ` ORDER BY ...`: the requested keys, else `default`; then `tie` (a unique key).
    pub fn push_order(&self, default: &str, tie: &str, dialect: Dialect, out: &mut SqlBuf) {
        if self.order.is_empty() {
            out.push(&format!(" ORDER BY {default}, {tie}"));
            return;
        }
        let keys: Vec<String> = self
            .order
            .iter()
            .map(|(c, text, desc)| {
                format!(
                    "{} {}",
                    ordered(c, *text, dialect),
                    if *desc { "DESC" } else { "ASC" }
                )
            })
            .collect();
        out.push(&format!(" ORDER BY {}, {tie}", keys.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: ListSpec = ListSpec {
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
        sort: &[ListField {
            name: "owner",
            column: "ou.username",
            kind: Kind::Text,
        }],
        search: &["ou.username"],
        user_id_column: "m.user_id",
    };

    fn q(pairs: &[(&str, &str)]) -> Result<ListRequest, FilterError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SPEC.parse(&pairs)
    }

    #[test]
    fn unknown_variables_and_bad_values_are_400s() {
        assert_eq!(
            q(&[("filter", r#"{"==":[{"var":"id"},1]}"#)])
                .unwrap_err()
                .0,
            "filter: 'id' term is not supported"
        );
        assert!(q(&[("filter", "{")]).is_err());
        assert!(q(&[("user_id", "x")]).is_err());
        let r = q(&[
            (
                "filter",
                r#"{"and":[{"==":[{"var":"accepted"},true]},{"in":["ad",{"var":"owner"}]}]}"#,
            ),
            ("sort", "-owner,nope"),
        ])
        .unwrap();
        let mut sql = SqlBuf::default();
        r.push_where(&SPEC, Dialect::Postgres, &mut sql);
        r.push_order("i.created_date DESC", "i.key", Dialect::Postgres, &mut sql);
        assert_eq!(
            sql.sql,
            " AND ((m.is_active = $1) AND (strpos(COALESCE(ou.username, ''), $2) > 0)) ORDER BY ou.username COLLATE \"C\" DESC, i.key"
        );
    }
}
