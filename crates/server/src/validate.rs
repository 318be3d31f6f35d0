//! Field validation with DRF's and Django's exact messages (spec §7.3, §10.3).

use serde_json::{Map, Value};

use crate::service::{OrgRole, UserPatch};

pub type FieldErrors = Vec<(String, Vec<String>)>;

pub const NAME_MAX: usize = 150;
pub const EMAIL_MAX: usize = 254;

fn max_len_msg(n: usize) -> String {
    format!("Ensure this field has no more than {n} characters.")
}

/// DRF `CharField.to_internal_value` and its blank rule: no null, strings (numbers
/// stringified), trimmed. The field's validators run afterwards, on non-blank values only.
fn text_value(value: &Value, allow_blank: bool) -> Result<String, Vec<String>> {
    let s = match value {
        Value::Null => return Err(vec!["This field may not be null.".into()]),
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return Err(vec!["Not a valid string.".into()]),
    };
    if s.is_empty() && !allow_blank {
        return Err(vec!["This field may not be blank.".into()]);
    }
    Ok(s)
}

/// The validators DRF's `CharField` appends to a field's own ones, in its order: max length,
/// then no NUL characters.
fn char_validators(s: &str, max: usize, errors: &mut Vec<String>) {
    if s.chars().count() > max {
        errors.push(max_len_msg(max));
    }
    if s.contains('\0') {
        errors.push("Null characters are not allowed.".into());
    }
}

fn collected(s: String, errors: Vec<String>) -> Result<String, Vec<String>> {
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(errors)
    }
}

/// DRF `CharField`: no null, strings (numbers stringified), trimmed, blank rule, max length,
/// no NUL; all validator errors reported together, in DRF's order.
pub fn char_field(value: &Value, allow_blank: bool, max: usize) -> Result<String, Vec<String>> {
    let s = text_value(value, allow_blank)?;
    if s.is_empty() {
        return Ok(s);
    }
    let mut errors = Vec::new();
    char_validators(&s, max, &mut errors);
    collected(s, errors)
}

/// Django's `UnicodeUsernameValidator`: `^[\w.@+-]+\Z`, where Python's `\w` is a letter
/// (categories L*) or a number (N*) or `_`. Rust's `is_alphanumeric` also takes marks and
/// symbols (e.g. Ⓐ) that Python rejects, and the SDKs check usernames in every response.
pub fn is_valid_username(s: &str) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    !s.is_empty()
        && s.chars().all(|c| {
            "_.@+-".contains(c)
                || matches!(
                    get_general_category(c),
                    G::UppercaseLetter
                        | G::LowercaseLetter
                        | G::TitlecaseLetter
                        | G::ModifierLetter
                        | G::OtherLetter
                        | G::DecimalNumber
                        | G::LetterNumber
                        | G::OtherNumber
                )
        })
}

/// The model field's validator (`UnicodeUsernameValidator`) runs before the ones `CharField`
/// appends; uniqueness (between the two in DRF) is checked by the caller.
pub fn username_field(value: &Value) -> Result<String, Vec<String>> {
    let s = text_value(value, false)?;
    let mut errors = Vec::new();
    if !is_valid_username(&s) {
        errors.push(
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
                .to_string(),
        );
    }
    char_validators(&s, NAME_MAX, &mut errors);
    collected(s, errors)
}

/// Django's `EmailValidator`, closely: dot-atom local part, host names or `localhost`.
pub fn is_valid_email(s: &str) -> bool {
    let Some((user, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let atom_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{}|~-".contains(c);
    let user_ok = !user.is_empty()
        && user
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(atom_char));
    if !user_ok {
        return false;
    }
    if domain == "localhost" {
        return true;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().count() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let tld = labels[labels.len() - 1];
    labels.iter().all(|l| label_ok(l))
        && tld.chars().count() >= 2
        && !tld.chars().all(|c| c.is_ascii_digit())
}

/// The `email` of a body that must name an address (password reset, confirmation re-send):
/// required, not blank, valid.
pub fn required_email(body: &Map<String, Value>) -> Result<String, FieldErrors> {
    let refuse = |msgs: Vec<String>| vec![("email".to_string(), msgs)];
    match body.get("email").map(email_field) {
        None => Err(refuse(vec!["This field is required.".into()])),
        Some(Err(m)) => Err(refuse(m)),
        Some(Ok(e)) if e.is_empty() => Err(refuse(vec!["This field may not be blank.".into()])),
        Some(Ok(e)) => Ok(e),
    }
}

/// DRF `EmailField` appends its e-mail check after `CharField`'s validators.
pub fn email_field(value: &Value) -> Result<String, Vec<String>> {
    let s = text_value(value, true)?;
    if s.is_empty() {
        return Ok(s);
    }
    let mut errors = Vec::new();
    char_validators(&s, EMAIL_MAX, &mut errors);
    if !is_valid_email(&s) {
        errors.push("Enter a valid email address.".to_string());
    }
    collected(s, errors)
}

/// DRF `BooleanField`'s accepted spellings.
pub fn parse_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "true" | "True" | "TRUE" | "t" | "T" | "yes" | "Yes" | "YES" | "y" | "Y" | "on"
            | "On" | "ON" | "1" => Some(true),
            "false" | "False" | "FALSE" | "f" | "F" | "no" | "No" | "NO" | "n" | "N" | "off"
            | "Off" | "OFF" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub fn bool_field(value: &Value) -> Result<bool, Vec<String>> {
    match value {
        Value::Null => Err(vec!["This field may not be null.".into()]),
        v => parse_bool(v).ok_or_else(|| vec!["Must be a valid boolean.".into()]),
    }
}

/// Python's `str()` of a JSON value, as CVAT's messages print it.
pub use crate::pycompat::py_str;

/// DRF `ManyRelatedField(SlugRelatedField(slug_field="name"))`: a list of existing group names.
pub fn groups_field(value: &Value, known: &[String]) -> Result<Vec<String>, Vec<String>> {
    let items: Vec<Value> = match value {
        Value::Null => return Err(vec!["This field may not be null.".into()]),
        Value::Array(items) => items.clone(),
        // A dict is iterable in Python: its keys are the items.
        Value::Object(map) => map.keys().map(|k| Value::String(k.clone())).collect(),
        other => {
            let kind = match other {
                Value::String(_) => "str",
                Value::Bool(_) => "bool",
                Value::Number(n) if n.is_f64() => "float",
                _ => "int",
            };
            return Err(vec![format!(
                "Expected a list of items but got type \"{kind}\"."
            )]);
        }
    };
    let mut names: Vec<String> = Vec::new();
    for item in &items {
        if matches!(item, Value::Array(_) | Value::Object(_)) {
            return Err(vec!["Invalid value.".into()]);
        }
        let name = py_str(item);
        if !known.contains(&name) {
            return Err(vec![format!("Object with name={name} does not exist.")]);
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// Python's `repr()` of a set of strings, e.g. `{'email', 'is_staff'}`.
pub fn py_set_repr(keys: &[String]) -> String {
    let items: Vec<String> = keys
        .iter()
        .map(|k| {
            if k.contains('\'') && !k.contains('"') {
                format!("\"{k}\"")
            } else {
                format!("'{}'", k.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// An organization role (`ChoiceField`): one of the four names.
pub fn org_role_field(value: &Value) -> Result<OrgRole, Vec<String>> {
    match value {
        Value::String(s) => OrgRole::parse(s),
        _ => None,
    }
    .ok_or_else(|| vec![format!("\"{}\" is not a valid choice.", py_str(value))])
}

/// Validates a PATCH body with the full (`full`) or the basic serializer's fields. Returns
/// the changes and the field errors, in serializer field order.
pub fn user_patch(
    body: &Map<String, Value>,
    full: bool,
    known_groups: &[String],
) -> (UserPatch, FieldErrors) {
    let mut ch = UserPatch::default();
    let mut errors: FieldErrors = Vec::new();
    let mut note = |name: &str, r: Result<(), Vec<String>>| {
        if let Err(msgs) = r {
            errors.push((name.to_string(), msgs));
        }
    };
    if let Some(v) = body.get("username") {
        note("username", username_field(v).map(|s| ch.username = Some(s)));
    }
    if let Some(v) = body.get("first_name") {
        note(
            "first_name",
            char_field(v, true, NAME_MAX).map(|s| ch.first_name = Some(s)),
        );
    }
    if let Some(v) = body.get("last_name") {
        note(
            "last_name",
            char_field(v, true, NAME_MAX).map(|s| ch.last_name = Some(s)),
        );
    }
    if full {
        if let Some(v) = body.get("email") {
            note("email", email_field(v).map(|s| ch.email = Some(s)));
        }
        if let Some(v) = body.get("groups") {
            note(
                "groups",
                groups_field(v, known_groups).map(|g| ch.groups = Some(g)),
            );
        }
        if let Some(v) = body.get("is_staff") {
            note("is_staff", bool_field(v).map(|b| ch.is_staff = Some(b)));
        }
        if let Some(v) = body.get("is_superuser") {
            note(
                "is_superuser",
                bool_field(v).map(|b| ch.is_superuser = Some(b)),
            );
        }
        if let Some(v) = body.get("is_active") {
            note("is_active", bool_field(v).map(|b| ch.is_active = Some(b)));
        }
        if let Some(v) = body.get("email_verified") {
            let parsed = match v {
                Value::Null => Ok(None),
                v => bool_field(v).map(Some),
            };
            note(
                "email_verified",
                parsed.map(|b| ch.email_verified = Some(b)),
            );
        }
        if let Some(v) = body.get("must_change_password") {
            note(
                "must_change_password",
                bool_field(v).map(|b| ch.must_change_password = Some(b)),
            );
        }
    }
    (ch, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usernames() {
        assert!(is_valid_username("ünïcode_名前"));
        assert!(is_valid_username("a.b@c+d-e"));
        assert!(!is_valid_username("bad name!"));
        // Python's \w: no symbols (Ⓐ is "other symbol") and no combining marks.
        assert!(!is_valid_username("aⒶ"));
        assert!(!is_valid_username("e\u{301}"));
        assert!(is_valid_username("Ⅻ٣²"));
        assert_eq!(
            username_field(&json!("x".repeat(151))).unwrap_err(),
            vec!["Ensure this field has no more than 150 characters."]
        );
        assert_eq!(username_field(&json!(5)).unwrap(), "5");
        assert_eq!(
            username_field(&json!(" ")).unwrap_err(),
            vec!["This field may not be blank."]
        );
    }

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "x@localhost",
            "u@exämple.de", // IDN domains pass (Django retries with punycode)
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a..b@c.com",
            "a@-b.com",
            "a b@c.com",
            "a@b.1",
            "ü@example.de", // Django 3.2's dot-atom local part is ASCII only
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn groups_messages() {
        let known = vec!["admin".to_string(), "user".to_string()];
        assert_eq!(
            groups_field(&json!(["nope"]), &known).unwrap_err(),
            vec!["Object with name=nope does not exist."]
        );
        assert_eq!(
            groups_field(&json!([1]), &known).unwrap_err(),
            vec!["Object with name=1 does not exist."]
        );
        assert_eq!(
            groups_field(&json!([null]), &known).unwrap_err(),
            vec!["Object with name=None does not exist."]
        );
        assert_eq!(
            groups_field(&json!("user"), &known).unwrap_err(),
            vec!["Expected a list of items but got type \"str\"."]
        );
        assert_eq!(
            groups_field(&json!(["user", "user", "admin"]), &known).unwrap(),
            vec!["user", "admin"]
        );
    }

    #[test]
    fn booleans() {
        for t in [
            json!(true),
            json!("True"),
            json!("on"),
            json!(1),
            json!("1"),
        ] {
            assert_eq!(parse_bool(&t), Some(true));
        }
        for f in [json!(false), json!("no"), json!(0), json!(0.0), json!("f")] {
            assert_eq!(parse_bool(&f), Some(false));
        }
        assert_eq!(parse_bool(&json!("maybe")), None);
    }

    #[test]
    fn set_repr() {
        assert_eq!(py_set_repr(&["email".into()]), "{'email'}");
        assert_eq!(py_set_repr(&["a'b".into()]), "{\"a'b\"}");
    }
}
