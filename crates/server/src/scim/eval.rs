//! A value filter matched against one element of a multi-valued attribute in memory (PATCH's
//! `members[value eq "42"]`, `emails[type eq "work"]`): sub-attribute names and text compare
//! ignoring case (the `value`s this server hands out are digits, so no case can differ).

use serde_json::Value;

use super::filter::{CompValue, CompareOp, Filter};
use crate::store::fold;

/// Whether `element` (an object) matches `filter`; `Err` for what a value filter cannot say.
pub fn matches(filter: &Filter, element: &Value) -> Result<bool, String> {
    Ok(match filter {
        Filter::And(a, b) => matches(a, element)? && matches(b, element)?,
        Filter::Or(a, b) => matches(a, element)? || matches(b, element)?,
        Filter::Not(inner) => !matches(inner, element)?,
        Filter::ValuePath(..) => return Err("Value filters do not nest.".into()),
        Filter::Present(path) => {
            if path.sub.is_some() {
                return Err("A value filter names sub-attributes only.".into());
            }
            !is_empty(field(element, &path.attr))
        }
        Filter::Compare(path, op, value) => {
            if path.sub.is_some() {
                return Err("A value filter names sub-attributes only.".into());
            }
            compare(field(element, &path.attr), *op, value)?
        }
    })
}

fn is_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

fn field<'a>(element: &'a Value, name: &str) -> Option<&'a Value> {
    element
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn compare(actual: Option<&Value>, op: CompareOp, expected: &CompValue) -> Result<bool, String> {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (actual, expected) {
        (None | Some(Value::Null), CompValue::Null) => Some(Ordering::Equal),
        (_, CompValue::Null) | (None | Some(Value::Null), _) => None,
        (Some(Value::String(a)), CompValue::Str(b)) => {
            let (a, b) = (fold(a), fold(b));
            return Ok(match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                _ => ordered(op, Some(a.cmp(&b))),
            });
        }
        // Ids are strings holding digits; compare numbers with them as numbers.
        (Some(Value::String(a)), CompValue::Num(b)) => {
            a.parse::<f64>().ok().and_then(|a| a.partial_cmp(b))
        }
        (Some(Value::Number(a)), CompValue::Num(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
        (Some(Value::Number(a)), CompValue::Str(b)) => b
            .parse::<f64>()
            .ok()
            .and_then(|b| a.as_f64()?.partial_cmp(&b)),
        (Some(Value::Bool(a)), CompValue::Bool(b)) => Some(a.cmp(b)),
        (Some(Value::Bool(a)), CompValue::Str(b)) => match b.to_ascii_lowercase().as_str() {
            "true" => Some(a.cmp(&true)),
            "false" => Some(a.cmp(&false)),
            _ => None,
        },
        _ => None,
    };
    if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
        && actual.is_some_and(|v| !v.is_string())
    {
        return Err("co, sw and ew compare text only.".into());
    }
    Ok(ordered(op, ordering))
}

fn ordered(op: CompareOp, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    match (op, ordering) {
        (CompareOp::Ne, o) => o != Some(Equal),
        (_, None) => false,
        (CompareOp::Eq, Some(o)) => o == Equal,
        (CompareOp::Gt, Some(o)) => o == Greater,
        (CompareOp::Ge, Some(o)) => o != Less,
        (CompareOp::Lt, Some(o)) => o == Less,
        (CompareOp::Le, Some(o)) => o != Greater,
        (CompareOp::Co | CompareOp::Sw | CompareOp::Ew, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::filter::parse_filter;
    use super::*;
    use serde_json::json;

    fn check(text: &str, element: Value) -> bool {
        matches(&parse_filter(text).unwrap(), &element).unwrap()
    }

    #[test]
    fn matches_members_and_emails() {
        let member = json!({"value": "42", "display": "alice"});
        assert!(check(r#"value eq "42""#, member.clone()));
        assert!(check("value eq 42", member.clone()));
        assert!(!check(r#"value eq "4""#, member.clone()));
        assert!(check(r#"VALUE ne "4" and display sw "AL""#, member.clone()));
        assert!(check("display pr", member.clone()));
        assert!(!check("type pr", member));
        let email = json!({"value": "a@x.org", "type": "work", "primary": true});
        assert!(check(
            r#"type eq "work" and primary eq true"#,
            email.clone()
        ));
        assert!(check(r#"not (value co "@y.org")"#, email));
    }
}
