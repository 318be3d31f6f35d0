//! List query parameters of `GET /api/users` (spec §8.2–8.4): `sort`, `search` and the JSON-logic
//! `filter`, parsed into typed values ([`parse`]) and compiled to SQL for SQLite and Postgres
//! ([`compile`]); [`eval`] evaluates a rule in memory, as the SQL does.
//!
//! CVAT 2.3.0 passes filter values to the Django ORM untouched, so the accepted values follow
//! Django's field coercion (`int()` for ids, `BooleanField.to_python`, `str()` for text).
//! Everything that crashed CVAT with a 500 is a [`FilterError`] here (spec decision 1).
//! Text comparisons and ordering are byte-wise on both engines, and [`eval_rule`] mirrors the SQL.

mod compile;
mod eval;
mod lists;
mod parse;

pub use compile::*;
pub use eval::*;
pub use lists::*;
pub use parse::*;

/// Columns of `users` that list queries may filter/sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Id,
    Username,
    FirstName,
    LastName,
    IsActive,
}

impl Field {
    pub const ALL: [Field; 5] = [
        Field::Id,
        Field::Username,
        Field::FirstName,
        Field::LastName,
        Field::IsActive,
    ];

    pub fn from_name(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == s)
    }
    pub fn column(self) -> &'static str {
        match self {
            Field::Id => "u.id",
            Field::Username => "u.username",
            Field::FirstName => "u.first_name",
            Field::LastName => "u.last_name",
            Field::IsActive => "u.is_active",
        }
    }
    /// The API name (`"first_name"`).
    pub fn name(self) -> &'static str {
        &self.column()[2..]
    }
    fn is_text(self) -> bool {
        matches!(self, Field::Username | Field::FirstName | Field::LastName)
    }
}

/// A bound SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Int(i64),
    Bool(bool),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// SQL text with `$1..$N` placeholders (numbered in order of appearance) and their values.
#[derive(Debug, Default, Clone)]
pub struct SqlBuf {
    pub sql: String,
    pub binds: Vec<Bind>,
}

impl SqlBuf {
    pub fn push(&mut self, s: &str) {
        self.sql.push_str(s)
    }
    /// Appends `$<n>` (n = number of binds so far + 1) and stores `v`.
    pub fn bind(&mut self, v: Bind) {
        self.binds.push(v);
        self.sql.push_str(&format!("${}", self.binds.len()));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// (operator, JSON-logic name, SQL)
    const TABLE: [(CmpOp, &'static str, &'static str); 5] = [
        (CmpOp::Eq, "==", "="),
        (CmpOp::Lt, "<", "<"),
        (CmpOp::Le, "<=", "<="),
        (CmpOp::Gt, ">", ">"),
        (CmpOp::Ge, ">=", ">="),
    ];
}

/// A parsed JSON-logic filter rule, typed and validated (values already coerced to the field's type).
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    /// `{"var":f}` alone: `f IS NOT NULL`, always true for our NOT NULL columns.
    True,
    /// `{"var":"last_login"}` alone: `last_login IS NOT NULL`, the user has logged in.
    LoggedIn,
    Cmp(Field, CmpOp, Bind),
    /// `{"<=":[a,{"var":f},b]}`: `a <= f AND f <= b`. (The strict `<` form parses to `And` of two `Cmp`.)
    Between(Bind, Field, Bind),
    /// `f IN (...)`; empty = always false (also what `{"==":[{"var":f},null]}` means: `f IS NULL`).
    In(Field, Vec<Bind>),
    /// `{"in":["text",{"var":f}]}`: case-sensitive substring of the field's text (for `id` its
    /// decimal digits, for `is_active` `"true"`/`"false"`, as Postgres' `::text` casts).
    Contains(Field, String),
}

/// The 400 error: the single message of CVAT's array body, e.g. `filter: Json syntax should be used`.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterError(pub String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for FilterError {}

fn err<T>(msg: String) -> Result<T, FilterError> {
    Err(FilterError(format!("filter: {msg}")))
}

/// Case folding for case-insensitive matching: lowercase character by character (so a term
/// folds exactly like the text it is found in) and final sigma as sigma, as Unicode case
/// folding does.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect()
}

/// Helpers shared by the unit tests of the submodules.
#[cfg(test)]
mod testing {
    use super::*;

    pub(crate) fn rule(raw: &str) -> Rule {
        parse_filter(raw)
            .unwrap_or_else(|e| panic!("{raw}: {e}"))
            .expect("a rule")
    }
    pub(crate) fn error(raw: &str) -> String {
        parse_filter(raw).expect_err(raw).0
    }
    pub(crate) fn text(s: &str) -> Bind {
        Bind::Text(s.into())
    }
    pub(crate) fn sql(r: &Rule, d: Dialect) -> (String, Vec<Bind>) {
        let mut b = SqlBuf::default();
        compile_rule(r, d, &mut b);
        (b.sql, b.binds)
    }
}
