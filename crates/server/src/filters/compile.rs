//! Typed requests to SQL with bound parameters, per engine: rules, sort keys and search terms.

use super::{Bind, CmpOp, Dialect, Field, Rule, SqlBuf};

impl Field {
    /// Column expression for ordered comparisons: byte-wise on both engines.
    fn ordered_column(self, dialect: Dialect) -> String {
        match (self.is_text(), dialect) {
            (true, Dialect::Postgres) => format!("{} COLLATE \"C\"", self.column()),
            _ => self.column().to_string(),
        }
    }
    /// The column as text, as Postgres' `col::text` renders it (Django's `contains` casts so).
    fn text_expr(self) -> String {
        match self {
            Field::Id => "CAST(u.id AS TEXT)".into(),
            Field::IsActive => "(CASE WHEN u.is_active THEN 'true' ELSE 'false' END)".into(),
            f => f.column().into(),
        }
    }
}

impl CmpOp {
    fn sql(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|t| t.0 == self)
            .map_or("=", |t| t.2)
    }
}

/// `field` as sort keys compare it: byte-wise on both engines.
pub fn ordered_column(field: Field, dialect: Dialect) -> String {
    field.ordered_column(dialect)
}

/// Appends `rule` as a parenthesised boolean SQL expression.
pub fn compile_rule(rule: &Rule, dialect: Dialect, out: &mut SqlBuf) {
    let substr = match dialect {
        Dialect::Sqlite => "instr",
        Dialect::Postgres => "strpos",
    };
    match rule {
        Rule::And(rs) | Rule::Or(rs) if rs.is_empty() => {
            out.push(if matches!(rule, Rule::And(_)) {
                "(1=1)"
            } else {
                "(1=0)"
            })
        }
        Rule::And(rs) | Rule::Or(rs) => {
            let sep = if matches!(rule, Rule::And(_)) {
                " AND "
            } else {
                " OR "
            };
            out.push("(");
            for (i, r) in rs.iter().enumerate() {
                if i > 0 {
                    out.push(sep)
                }
                compile_rule(r, dialect, out);
            }
            out.push(")");
        }
        Rule::Not(r) => {
            out.push("(NOT ");
            compile_rule(r, dialect, out);
            out.push(")");
        }
        Rule::True => out.push("(1=1)"),
        Rule::LoggedIn => out.push("(u.last_login IS NOT NULL)"),
        Rule::Cmp(f, op, v) => {
            out.push(&format!("({} {} ", f.ordered_column(dialect), op.sql()));
            out.bind(v.clone());
            out.push(")");
        }
        Rule::Between(lo, f, hi) => {
            let col = f.ordered_column(dialect);
            out.push(&format!("({col} >= "));
            out.bind(lo.clone());
            out.push(&format!(" AND {col} <= "));
            out.bind(hi.clone());
            out.push(")");
        }
        Rule::In(_, vs) if vs.is_empty() => out.push("(1=0)"),
        Rule::In(f, vs) => {
            out.push(&format!("({} IN (", f.column()));
            for (i, v) in vs.iter().enumerate() {
                if i > 0 {
                    out.push(", ")
                }
                out.bind(v.clone());
            }
            out.push("))");
        }
        Rule::Contains(f, s) => {
            out.push(&format!("({substr}({}, ", f.text_expr()));
            out.bind(Bind::Text(s.clone()));
            out.push(") > 0)");
        }
    }
}

/// Appends `ORDER BY ...` (no leading space), plus a `u.id ASC` tie-breaker unless `id` is a key
/// (CVAT has none, but pages need a total order).
pub fn compile_order(keys: &[(Field, bool)], dialect: Dialect, out: &mut SqlBuf) {
    let mut parts: Vec<String> = keys
        .iter()
        .map(|(f, desc)| {
            format!(
                "{} {}",
                f.ordered_column(dialect),
                if *desc { "DESC" } else { "ASC" }
            )
        })
        .collect();
    if !keys.iter().any(|(f, _)| *f == Field::Id) {
        parts.push("u.id ASC".into())
    }
    out.push(&format!("ORDER BY {}", parts.join(", ")));
}

/// Terms this long (in characters) or longer are looked up in the trigram index
/// (`users_search` on SQLite, `users_search_trgm` on PostgreSQL); shorter ones scan.
pub const INDEXED_TERM_CHARS: usize = 3;

/// Whether `term` is served by the trigram index.
pub fn term_is_indexed(term: &str) -> bool {
    term.chars().count() >= INDEXED_TERM_CHARS
}

/// The FTS5 query for the indexed terms: each one a quoted phrase (`"` doubled), all required.
/// With the trigram tokenizer a phrase matches exactly the texts that contain it.
pub fn fts_query<'a>(terms: impl IntoIterator<Item = &'a String>) -> Option<String> {
    let phrases: Vec<String> = terms
        .into_iter()
        .filter(|t| term_is_indexed(t))
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" AND "))
}

/// `%term%` with LIKE's own characters (backslash, `%`, `_`) escaped by a backslash.
pub fn like_contains(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Appends `(term1 AND term2 ...)`, each term a substring test on `u.search_key`; nothing if
/// empty. The same rows as `instr`/`strpos` on every term, through the trigram index for terms
/// of three characters or more: on SQLite one FTS5 query for all of them, on PostgreSQL
/// `LIKE '%term%'` (which pg_trgm indexes; `strpos` it cannot).
pub fn compile_search(terms: &[String], dialect: Dialect, out: &mut SqlBuf) {
    if terms.is_empty() {
        return;
    }
    let mut tests: Vec<(&str, Bind, &str)> = Vec::new();
    match dialect {
        Dialect::Sqlite => {
            if let Some(query) = fts_query(terms) {
                tests.push((
                    "u.id IN (SELECT rowid FROM users_search WHERE users_search MATCH ",
                    Bind::Text(query),
                    ")",
                ));
            }
            for t in terms.iter().filter(|t| !term_is_indexed(t)) {
                tests.push(("instr(u.search_key, ", Bind::Text(t.clone()), ") > 0"));
            }
        }
        Dialect::Postgres => {
            for t in terms {
                if term_is_indexed(t) {
                    tests.push((
                        "u.search_key LIKE ",
                        Bind::Text(like_contains(t)),
                        " ESCAPE '\\'",
                    ));
                } else {
                    tests.push(("strpos(u.search_key, ", Bind::Text(t.clone()), ") > 0"));
                }
            }
        }
    }
    out.push("(");
    for (i, (head, bind, tail)) in tests.into_iter().enumerate() {
        if i > 0 {
            out.push(" AND ")
        }
        out.push(head);
        out.bind(bind);
        out.push(tail);
    }
    out.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::testing::*;
    use crate::filters::*;
    use Field::*;

    #[test]
    fn compiled_sql() {
        let r = rule(
            r#"{"or":[{"<":[{"var":"username"},"m"]},{"!":{"in":["x",{"var":"first_name"}]}},
            {"in":[{"var":"id"},[1,2]]},{"<=":[1,{"var":"id"},9]},{"in":[{"var":"id"},[]]},{"var":"id"},{"in":["t",{"var":"is_active"}]}]}"#,
        );
        let (s, binds) = sql(&r, Dialect::Postgres);
        assert_eq!(s, "((u.username COLLATE \"C\" < $1) OR (NOT (strpos(u.first_name, $2) > 0)) OR (u.id IN ($3, $4)) \
            OR (u.id >= $5 AND u.id <= $6) OR (1=0) OR (1=1) OR (strpos((CASE WHEN u.is_active THEN 'true' ELSE 'false' END), $7) > 0))");
        assert_eq!(binds.len(), 7);
        let (s, _) = sql(&r, Dialect::Sqlite);
        assert!(
            s.starts_with("((u.username < $1) OR (NOT (instr(u.first_name, $2) > 0))"),
            "{s}"
        );
        assert_eq!(
            sql(
                &rule(r#"{"==":[{"var":"is_active"},"t"]}"#),
                Dialect::Sqlite
            ),
            ("(u.is_active = $1)".into(), vec![Bind::Bool(true)])
        );

        let mut b = SqlBuf {
            sql: "x".into(),
            binds: vec![Bind::Int(0)],
        };
        compile_search(&parse_search(Some("a B")).unwrap(), Dialect::Sqlite, &mut b);
        compile_order(
            &[(Username, true), (IsActive, false)],
            Dialect::Postgres,
            &mut b,
        );
        assert_eq!(b.sql, "x(instr(u.search_key, $2) > 0 AND instr(u.search_key, $3) > 0)ORDER BY u.username COLLATE \"C\" DESC, u.is_active ASC, u.id ASC");
        assert_eq!(b.binds[1..], [text("a"), text("b")]);
        // Three characters and more go through the trigram index.
        let terms = parse_search(Some(r#"ab "q%_\z émi"#)).unwrap();
        let mut b = SqlBuf::default();
        compile_search(&terms, Dialect::Sqlite, &mut b);
        assert_eq!(
            b.sql,
            "(u.id IN (SELECT rowid FROM users_search WHERE users_search MATCH $1) AND instr(u.search_key, $2) > 0)"
        );
        assert_eq!(b.binds, [text(r#""""q%_\z" AND "émi""#), text("ab")]);
        let mut b = SqlBuf::default();
        compile_search(&terms, Dialect::Postgres, &mut b);
        assert_eq!(
            b.sql,
            "(strpos(u.search_key, $1) > 0 AND u.search_key LIKE $2 ESCAPE '\\' AND u.search_key LIKE $3 ESCAPE '\\')"
        );
        assert_eq!(b.binds[1..], [text(r#"%"q\%\_\\z%"#), text("%émi%")]);
        let mut b = SqlBuf::default();
        compile_search(&[], Dialect::Postgres, &mut b);
        compile_order(&[(Id, true), (Username, false)], Dialect::Sqlite, &mut b);
        assert_eq!(b.sql, "ORDER BY u.id DESC, u.username ASC");
    }
}
