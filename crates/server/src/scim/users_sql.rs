//! A SCIM filter on Users compiled to SQL over `users u`, with every value a bound parameter:
//! the attributes map to columns, RFC 7643's case rules to the folded columns (`userName`,
//! `emails.value` are case-insensitive, and `userName eq "x"` is an index lookup on
//! `username_folded`), `externalId` compares exactly. Unknown or unfilterable attributes and
//! values of the wrong type are errors (SCIM's `invalidFilter`), never a guess.

use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::{CVAT_USER_SCHEMA, USER_SCHEMA};
use crate::filters::{Bind, Dialect, SqlBuf};
use crate::store::fold;

/// The User attributes a filter or `sortBy` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAttr {
    Id,
    UserName,
    ExternalId,
    GivenName,
    FamilyName,
    Email,
    Active,
    Created,
    LastModified,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text compared as stored (exact case).
    Exact,
    /// Text compared case-insensitively: the column holds (or `lower` gives) the folded text.
    Folded,
    Int,
    Bool,
    Time,
}

impl UserAttr {
    fn column(self) -> &'static str {
        match self {
            UserAttr::Id => "u.id",
            UserAttr::UserName => "u.username_folded",
            UserAttr::ExternalId => "u.external_id",
            UserAttr::GivenName => "lower(u.first_name)",
            UserAttr::FamilyName => "lower(u.last_name)",
            UserAttr::Email => "u.email_folded",
            UserAttr::Active => "u.is_active",
            UserAttr::Created => "u.date_joined",
            UserAttr::LastModified => "COALESCE(u.modified_date, u.date_joined)",
        }
    }

    fn kind(self) -> Kind {
        match self {
            UserAttr::Id => Kind::Int,
            UserAttr::ExternalId => Kind::Exact,
            UserAttr::UserName | UserAttr::GivenName | UserAttr::FamilyName | UserAttr::Email => {
                Kind::Folded
            }
            UserAttr::Active => Kind::Bool,
            UserAttr::Created | UserAttr::LastModified => Kind::Time,
        }
    }

    /// Only `externalId` may be absent (`NULL`); empty text counts as absent too.
    fn nullable(self) -> bool {
        self == UserAttr::ExternalId
    }

    /// `attr[.sub]` (optionally qualified with the User schema's URN), inside `parent[...]`
    /// when given; names ignore case.
    pub fn resolve(path: &AttrPath, parent: Option<&str>) -> Result<UserAttr, String> {
        if let Some(urn) = &path.urn {
            if !urn.eq_ignore_ascii_case(USER_SCHEMA) {
                let cvat = urn.eq_ignore_ascii_case(CVAT_USER_SCHEMA);
                return Err(match cvat {
                    true => "The CVAT extension's attributes cannot be filtered on.".into(),
                    false => format!("Unknown schema \"{urn}\"."),
                });
            }
        }
        let attr = path.attr.to_ascii_lowercase();
        let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
        let full = match parent {
            Some(p) if sub.is_none() => format!("{}.{attr}", p.to_ascii_lowercase()),
            Some(_) => return Err("A value filter names sub-attributes only.".into()),
            None => match &sub {
                Some(s) => format!("{attr}.{s}"),
                None => attr,
            },
        };
        Ok(match full.as_str() {
            "id" => UserAttr::Id,
            "username" => UserAttr::UserName,
            "externalid" => UserAttr::ExternalId,
            "name.givenname" => UserAttr::GivenName,
            "name.familyname" => UserAttr::FamilyName,
            "emails" | "emails.value" => UserAttr::Email,
            "active" => UserAttr::Active,
            "meta.created" => UserAttr::Created,
            "meta.lastmodified" => UserAttr::LastModified,
            other => return Err(format!("The attribute \"{other}\" cannot be filtered on.")),
        })
    }
}

/// `filter` as a boolean SQL expression over `users u`, appended to `out`.
pub fn compile(filter: &Filter, dialect: Dialect, out: &mut SqlBuf) -> Result<(), String> {
    compile_in(filter, None, dialect, out)
}

fn compile_in(
    filter: &Filter,
    parent: Option<&str>,
    dialect: Dialect,
    out: &mut SqlBuf,
) -> Result<(), String> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            out.push("(");
            compile_in(a, parent, dialect, out)?;
            out.push(if matches!(filter, Filter::And(..)) {
                " AND "
            } else {
                " OR "
            });
            compile_in(b, parent, dialect, out)?;
            out.push(")");
        }
        Filter::Not(inner) => {
            out.push("NOT (");
            compile_in(inner, parent, dialect, out)?;
            out.push(")");
        }
        Filter::ValuePath(path, inner) => {
            if parent.is_some() || path.sub.is_some() || !path.attr.eq_ignore_ascii_case("emails") {
                return Err(format!(
                    "\"{}[...]\" cannot be filtered on (only emails[...]).",
                    path.attr
                ));
            }
            // One address per user: "some element matches" is "the address matches".
            compile_in(inner, Some("emails"), dialect, out)?;
        }
        Filter::Present(path) => present(UserAttr::resolve(path, parent)?, out),
        Filter::Compare(path, op, value) => {
            compare(UserAttr::resolve(path, parent)?, *op, value, dialect, out)?
        }
    }
    Ok(())
}

fn present(attr: UserAttr, out: &mut SqlBuf) {
    match attr.kind() {
        Kind::Exact | Kind::Folded => {
            let col = attr.column();
            match attr.nullable() {
                true => out.push(&format!("({col} IS NOT NULL AND {col} <> '')")),
                false => out.push(&format!("{col} <> ''")),
            }
        }
        Kind::Int | Kind::Bool | Kind::Time => out.push("1=1"),
    }
}

fn compare(
    attr: UserAttr,
    op: CompareOp,
    value: &CompValue,
    dialect: Dialect,
    out: &mut SqlBuf,
) -> Result<(), String> {
    let col = attr.column();
    let wrong = || format!("{value:?} is not a valid value of this attribute for this operator.");
    if *value == CompValue::Null {
        // `eq null`: not present; `ne null`: present.
        return match op {
            CompareOp::Eq => {
                out.push("NOT (");
                present(attr, out);
                out.push(")");
                Ok(())
            }
            CompareOp::Ne => {
                present(attr, out);
                Ok(())
            }
            _ => Err(wrong()),
        };
    }
    let bind = match (attr.kind(), value) {
        (Kind::Exact, CompValue::Str(s)) => Bind::Text(s.clone()),
        (Kind::Folded, CompValue::Str(s)) => Bind::Text(fold(s)),
        (Kind::Bool, CompValue::Bool(b)) => Bind::Bool(*b),
        (Kind::Bool, CompValue::Str(s)) if s.eq_ignore_ascii_case("true") => Bind::Bool(true),
        (Kind::Bool, CompValue::Str(s)) if s.eq_ignore_ascii_case("false") => Bind::Bool(false),
        (Kind::Int, CompValue::Num(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            Bind::Int(*n as i64)
        }
        (Kind::Int, CompValue::Str(s)) => match s.parse::<i64>() {
            Ok(n) => Bind::Int(n),
            // SCIM ids are strings: one that is not ours matches no user.
            Err(_) if op == CompareOp::Eq => {
                out.push("1=0");
                return Ok(());
            }
            Err(_) if op == CompareOp::Ne => {
                out.push("1=1");
                return Ok(());
            }
            Err(_) => return Err(wrong()),
        },
        (Kind::Time, CompValue::Str(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => Bind::Int(t.timestamp_micros()),
            Err(_) => return Err(format!("\"{s}\" is not an RFC 3339 date and time.")),
        },
        _ => return Err(wrong()),
    };
    let text = matches!(attr.kind(), Kind::Exact | Kind::Folded);
    let nullable = attr.nullable();
    let ordered = match (text, dialect) {
        (true, Dialect::Postgres) => format!("{col} COLLATE \"C\""),
        _ => col.to_string(),
    };
    let find = match dialect {
        Dialect::Sqlite => "instr",
        Dialect::Postgres => "strpos",
    };
    match op {
        CompareOp::Eq => {
            out.push(&format!("{col} = "));
            out.bind(bind);
        }
        CompareOp::Ne if nullable => {
            out.push(&format!("({col} IS NULL OR {col} <> "));
            out.bind(bind);
            out.push(")");
        }
        CompareOp::Ne => {
            out.push(&format!("{col} <> "));
            out.bind(bind);
        }
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew if !text => return Err(wrong()),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            if bind == Bind::Text(String::new()) {
                present_or_empty(attr, out);
                return Ok(());
            }
            match op {
                CompareOp::Co => {
                    out.push(&format!("{find}({col}, "));
                    out.bind(bind);
                    out.push(") > 0");
                }
                CompareOp::Sw => {
                    out.push(&format!("{find}({col}, "));
                    out.bind(bind);
                    out.push(") = 1");
                }
                _ => {
                    let (tail, len) = match dialect {
                        Dialect::Sqlite => ("substr", "-length"),
                        Dialect::Postgres => ("right", "char_length"),
                    };
                    out.push(&format!("{tail}({col}, {len}("));
                    out.bind(bind.clone());
                    out.push(")) = ");
                    out.bind(bind);
                }
            }
        }
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
            if attr.kind() == Kind::Bool {
                return Err(wrong());
            }
            let sign = match op {
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                _ => "<=",
            };
            out.push(&format!("{ordered} {sign} "));
            out.bind(bind);
        }
    }
    Ok(())
}

/// `co ""`, `sw ""`, `ew ""`: every value has the empty string in it (NULL has none).
fn present_or_empty(attr: UserAttr, out: &mut SqlBuf) {
    match attr.nullable() {
        true => out.push(&format!("{} IS NOT NULL", attr.column())),
        false => out.push("1=1"),
    }
}

/// The ORDER BY of `sortBy` (with the id tie-breaker), ascending unless `descending`.
pub fn order_by(attr: Option<UserAttr>, descending: bool, dialect: Dialect) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    match attr {
        None | Some(UserAttr::Id) => format!("ORDER BY u.id {dir}"),
        Some(a) => {
            let text = matches!(a.kind(), Kind::Exact | Kind::Folded);
            let col = match (text, dialect) {
                (true, Dialect::Postgres) => format!("{} COLLATE \"C\"", a.column()),
                _ => a.column().to_string(),
            };
            // RFC 7644 §3.4.2.3: absent values sort last ascending, first descending.
            let nulls = match (a.nullable(), descending) {
                (true, false) => format!("{} IS NULL, ", a.column()),
                (true, true) => format!("{} IS NOT NULL, ", a.column()),
                _ => String::new(),
            };
            format!("ORDER BY {nulls}{col} {dir}, u.id ASC")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::filter::parse_filter;
    use super::*;

    fn sql(text: &str, dialect: Dialect) -> Result<(String, Vec<Bind>), String> {
        let f = parse_filter(text).map_err(|e| e.0)?;
        let mut out = SqlBuf::default();
        compile(&f, dialect, &mut out)?;
        Ok((out.sql, out.binds))
    }

    #[test]
    fn username_equality_is_a_bound_lookup_of_the_folded_column() {
        let (s, b) = sql(r#"userName eq "Bjensen""#, Dialect::Sqlite).unwrap();
        assert_eq!(s, "u.username_folded = $1");
        assert_eq!(b, vec![Bind::Text("bjensen".into())]);
        let (s, b) = sql(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:USERNAME EQ "x'; DROP TABLE users; --""#,
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(s, "u.username_folded = $1");
        assert_eq!(b, vec![Bind::Text("x'; drop table users; --".into())]);
    }

    #[test]
    fn compiles_logic_value_paths_and_each_operator() {
        let (s, b) = sql(
            r#"not (externalId pr) or (emails[value ew "@x.org"] and active eq "False")"#,
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(
            s,
            "(NOT ((u.external_id IS NOT NULL AND u.external_id <> '')) OR \
             (substr(u.email_folded, -length($1)) = $2 AND u.is_active = $3))"
        );
        assert_eq!(b.len(), 3);
        let (s, _) = sql(r#"name.givenName sw "a""#, Dialect::Postgres).unwrap();
        assert_eq!(s, "strpos(lower(u.first_name), $1) = 1");
        let (s, _) = sql(
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(s, "COALESCE(u.modified_date, u.date_joined) > $1");
        let (s, _) = sql(r#"userName le "m""#, Dialect::Postgres).unwrap();
        assert_eq!(s, "u.username_folded COLLATE \"C\" <= $1");
        let (s, _) = sql(r#"id eq "abc""#, Dialect::Sqlite).unwrap();
        assert_eq!(s, "1=0");
        let (s, _) = sql(r#"externalId ne "a""#, Dialect::Sqlite).unwrap();
        assert_eq!(s, "(u.external_id IS NULL OR u.external_id <> $1)");
    }

    #[test]
    fn refuses_unknown_attributes_and_wrong_values() {
        for text in [
            r#"title eq "x""#,
            r#"urn:other:Schema:userName eq "x""#,
            r#"groups.value eq "1""#,
            "active gt true",
            r#"active eq "maybe""#,
            "userName eq 12",
            "userName gt null",
            r#"meta.created gt "yesterday""#,
            r#"members[value eq "1"]"#,
            r#"emails[type.x eq "1"]"#,
            "id co 1",
        ] {
            assert!(sql(text, Dialect::Sqlite).is_err(), "{text}");
        }
    }

    #[test]
    fn sorts_with_the_id_tie_breaker() {
        assert_eq!(
            order_by(Some(UserAttr::UserName), true, Dialect::Sqlite),
            "ORDER BY u.username_folded DESC, u.id ASC"
        );
        assert_eq!(
            order_by(None, false, Dialect::Postgres),
            "ORDER BY u.id ASC"
        );
    }
}
