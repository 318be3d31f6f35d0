//! Python's conversions as CVAT's code applies them to request values (`int()`, `str()`,
//! `repr()`, `str.isspace()`), so that accepted values and error messages match it, and
//! Django's number encodings for tokens. One definition each, shared by the list filters, the
//! extractors, field validation and the signed values.

use serde_json::Value;

/// Python's `int(str)`: surrounding whitespace, a sign, digits with single `_` between them.
/// ASCII digits only (Python also takes other scripts' decimal digits, which no client sends).
pub fn py_int(s: &str) -> Option<i64> {
    i64::try_from(py_int_wide(s)?).ok()
}

/// `py_int` for values where Python's unbounded integers mean "as many as there are": a valid
/// integer beyond `i64` is clamped to `i64::MIN`/`i64::MAX` (CVAT has no maximum `page_size`).
pub fn py_int_saturating(s: &str) -> Option<i64> {
    let n = py_int_wide(s)?;
    Some(n.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
}

/// `int(str)` with the magnitude capped just past `i64`'s range (every digit is still checked).
fn py_int_wide(s: &str) -> Option<i128> {
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
        n = (n * 10 + i128::from(c.to_digit(10)?)).min(1 << 64);
    }
    Some(if neg { -n } else { n })
}

/// Python's `str.isspace()` (Rust's `is_whitespace` lacks the separators U+001C..U+001F).
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str(x)` of a parsed JSON value: strings as they are, everything else as `repr`.
pub fn py_str(v: &Value) -> String {
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

/// `n` in the base of `alphabet`'s length, most significant digit first (Django's
/// `int_to_base36` with the lower-case digits, `baseconv.base62` with its alphabet).
pub fn encode_base(mut n: u64, alphabet: &[u8]) -> String {
    let base = alphabet.len() as u64;
    let mut digits = Vec::new();
    loop {
        digits.push(char::from(alphabet[(n % base) as usize]));
        n /= base;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn integers_beyond_i64_saturate_only_where_asked() {
        use super::{py_int, py_int_saturating};
        let huge = "1000000000000000000000000000000";
        assert_eq!(py_int(huge), None);
        assert_eq!(py_int_saturating(huge), Some(i64::MAX));
        assert_eq!(py_int_saturating(&format!("-{huge}")), Some(i64::MIN));
        assert_eq!(py_int_saturating("1_000"), Some(1000));
        assert_eq!(py_int_saturating("10x"), None);
        assert_eq!(py_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(py_int("9223372036854775808"), None);
    }

    use super::*;
    use serde_json::json;

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
    fn python_int() {
        for (raw, want) in [
            ("5", Some(5)),
            (" +5_0 ", Some(50)),
            ("-7", Some(-7)),
            ("\u{1f}12\u{a0}", Some(12)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("", None),
            ("-", None),
            ("_1", None),
            ("1_", None),
            ("1__0", None),
            ("5.0", None),
            ("0x10", None),
            ("١", None),
        ] {
            assert_eq!(py_int(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn python_str() {
        for (v, want) in [
            (json!("it's"), "it's"),
            (json!(null), "None"),
            (json!(true), "True"),
            (json!(7), "7"),
            (json!(1e16), "1e+16"),
            (json!([1, "a"]), "[1, 'a']"),
            (json!({"k": false}), "{'k': False}"),
        ] {
            assert_eq!(py_str(&v), want);
        }
    }
}
