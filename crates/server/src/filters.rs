//! List query parameters of `GET /api/users` (spec §8.2–8.4): `sort`, `search` and the JSON-logic
//! `filter`, parsed into typed values and compiled to SQL for SQLite and Postgres.
//!
//! CVAT 2.3.0 passes filter values to the Django ORM untouched, so the accepted values follow
//! Django's field coercion (`int()` for ids, `BooleanField.to_python`, `str()` for text).
//! Everything that crashed CVAT with a 500 is a [`FilterError`] here (spec decision 1).
//! Text comparisons and ordering are byte-wise on both engines, and [`eval_rule`] mirrors the SQL.

use serde_json::Value;
use std::cmp::Ordering;

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
    fn sql(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|t| t.0 == self)
            .map_or("=", |t| t.2)
    }
    fn from_json(op: &str) -> Option<CmpOp> {
        Self::TABLE.iter().find(|t| t.1 == op).map(|t| t.0)
    }
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

/// User columns outside [`Field`] that `{"var":f}` alone may name; none is ever NULL.
const NOT_NULL_COLUMNS: [&str; 5] = [
    "email",
    "password",
    "is_staff",
    "is_superuser",
    "date_joined",
];

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

/// Python's `int(str)`: surrounding whitespace, a sign, digits with single `_` between them.
fn py_int(s: &str) -> Option<i64> {
    let t = s.trim_matches(is_py_space);
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut n: i128 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        n = n * 10 + c.to_digit(10)? as i128;
        if n > 1 << 63 {
            return None;
        }
    }
    i64::try_from(if neg { -n } else { n }).ok()
}

/// Python's `str.isspace()` (Rust's `is_whitespace` lacks the separators U+001C..U+001F).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str(x)` of a parsed JSON value: strings as they are, everything else as `repr`.
fn py_str(v: &Value) -> String {
    v.as_str().map_or_else(|| py_repr(v), str::to_string)
}

/// Python's `repr()` of the value `json.loads` would produce.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => (if *b { "True" } else { "False" }).into(),
        Value::Number(n) if n.is_f64() => py_float(n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str_repr(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// Python's string repr: single quotes unless the string has `'` and no `"`.
fn py_str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c)
            }
            // Non-printable (approximately Python's `str.isprintable`): controls and separators.
            c if c.is_control() || (c.is_whitespace() && c != ' ') => {
                let n = c as u32;
                out.push_str(&match n {
                    0..=0xff => format!("\\x{n:02x}"),
                    0x100..=0xffff => format!("\\u{n:04x}"),
                    _ => format!("\\U{n:08x}"),
                });
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Python's `repr(float)`: shortest round-trip digits, scientific outside 1e-4 <= |x| < 1e16.
fn py_float(f: f64) -> String {
    if !f.is_finite() {
        return (if f.is_nan() {
            "nan"
        } else if f > 0.0 {
            "inf"
        } else {
            "-inf"
        })
        .into();
    }
    let s = format!("{f:e}"); // e.g. "-1.25e-7"
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mant) = mant.strip_prefix('-').map_or(("", mant), |m| ("-", m));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let body = if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            format!("0.{}{digits}", "0".repeat(-point as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        }
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    };
    format!("{sign}{body}")
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

/// DRF `SearchFilter` terms, lower-cased to match `u.search_key`.
pub fn parse_search(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or("")
        .replace('\0', "")
        .replace(',', " ")
        .split(is_py_space)
        .filter(|t| !t.is_empty())
        .map(fold)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// SQL

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

// ---------------------------------------------------------------------------------------------
// In-memory evaluation (must agree with the SQL above)

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
    use serde_json::json;
    use Field::*;

    fn rule(raw: &str) -> Rule {
        parse_filter(raw)
            .unwrap_or_else(|e| panic!("{raw}: {e}"))
            .expect("a rule")
    }
    fn error(raw: &str) -> String {
        parse_filter(raw).expect_err(raw).0
    }
    fn text(s: &str) -> Bind {
        Bind::Text(s.into())
    }
    fn sql(r: &Rule, d: Dialect) -> (String, Vec<Bind>) {
        let mut b = SqlBuf::default();
        compile_rule(r, d, &mut b);
        (b.sql, b.binds)
    }

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
    fn python_repr() {
        let cases = [
            (json!("it's"), r#""it's""#),
            (json!("a'\"b"), r#"'a\'"b'"#),
            (json!("x\n\u{1}\u{a0}é"), r"'x\n\x01\xa0é'"),
            (json!(0.0001), "0.0001"),
            (json!(1.5e-5), "1.5e-05"),
            (json!(1e16), "1e+16"),
            (json!(123.0), "123.0"),
            (json!(-2.5), "-2.5"),
            (json!(1e15), "1000000000000000.0"),
            (json!(null), "None"),
            (json!({"a": [true, false, 1]}), "{'a': [True, False, 1]}"),
        ];
        for (v, want) in cases {
            assert_eq!(py_repr(&v), want);
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
        assert_eq!(parse_search(None), Vec::<String>::new());
        assert_eq!(
            parse_search(Some("User,\0FIRST\t\u{1f}Ä  ")),
            vec!["user", "first", "ä"]
        );
        assert_eq!(parse_search(Some(" , ")), Vec::<String>::new());
    }

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
        compile_search(&parse_search(Some("a B")), Dialect::Sqlite, &mut b);
        compile_order(
            &[(Username, true), (IsActive, false)],
            Dialect::Postgres,
            &mut b,
        );
        assert_eq!(b.sql, "x(instr(u.search_key, $2) > 0 AND instr(u.search_key, $3) > 0)ORDER BY u.username COLLATE \"C\" DESC, u.is_active ASC, u.id ASC");
        assert_eq!(b.binds[1..], [text("a"), text("b")]);
        // Three characters and more go through the trigram index.
        let terms = parse_search(Some(r#"ab "q%_\z émi"#));
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

    /// xorshift64* so the randomized test is deterministic without external crates.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
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

/// Case folding for case-insensitive matching: lowercase character by character (so a term
/// folds exactly like the text it is found in) and final sigma as sigma, as Unicode case
/// folding does.
pub fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ς' { 'σ' } else { c })
        .collect()
}
