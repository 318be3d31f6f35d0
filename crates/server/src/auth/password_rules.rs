//! Django 3.2's default `AUTH_PASSWORD_VALIDATORS` (as configured by CVAT), with Django's exact
//! English messages: UserAttributeSimilarityValidator, MinimumLengthValidator(8, or
//! `--password-min-length`),
//! CommonPasswordValidator, NumericPasswordValidator.

use flate2::read::GzDecoder;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::OnceLock;

/// Django's list (20k common passwords, lowercased), shipped unchanged; see data/README.md.
static COMMON_PASSWORDS_GZ: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

const MAX_SIMILARITY: f64 = 0.7;

pub struct UserAttributes<'a> {
    pub username: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

/// Returns Django's messages in validator order (empty = password accepted). The similarity
/// check only runs when `attrs` is given (Django skips it when there is no user object).
pub fn validate_password(password: &str, attrs: Option<&UserAttributes>) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(attrs) = attrs {
        if let Some(name) = too_similar_to(password, attrs) {
            errors.push(format!("The password is too similar to the {name}."));
        }
    }
    let min_length = crate::service::registration::min_password_length();
    if password.chars().count() < min_length {
        errors.push(format!(
            "This password is too short. It must contain at least {min_length} characters."
        ));
    }
    if common_passwords().contains(py_strip(&password.to_lowercase())) {
        errors.push("This password is too common.".to_owned());
    }
    if py_isdigit(password) {
        errors.push("This password is entirely numeric.".to_owned());
    }
    errors
}

/// UserAttributeSimilarityValidator: verbose name of the first attribute the password is too
/// similar to (attribute order and verbose names are those of Django's `User` model).
fn too_similar_to(password: &str, attrs: &UserAttributes) -> Option<&'static str> {
    let password: Vec<char> = password.to_lowercase().chars().collect();
    let fields = [
        ("username", attrs.username),
        ("first name", attrs.first_name),
        ("last name", attrs.last_name),
        ("email address", attrs.email),
    ];
    for (verbose_name, value) in fields {
        if value.is_empty() {
            continue;
        }
        let value_lower = value.to_lowercase();
        // Django: re.split(r'\W+', value_lower) + [value_lower]
        let parts = split_nonword_runs(&value_lower);
        for part in parts
            .iter()
            .copied()
            .chain(std::iter::once(value_lower.as_str()))
        {
            let part: Vec<char> = part.chars().collect();
            if exceeds_maximum_length_ratio(password.len(), part.len()) {
                continue;
            }
            if quick_ratio(&password, &part) >= MAX_SIMILARITY {
                return Some(verbose_name);
            }
        }
    }
    None
}

/// Python `re.split(r'\W+', s)`: a run of non-word chars is one separator; empty strings appear
/// at the ends when `s` starts/ends with a separator.
fn split_nonword_runs(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_sep = false;
    let mut sep_start = 0;
    for (i, c) in s.char_indices() {
        match (is_word_char(c), in_sep) {
            (false, false) => {
                in_sep = true;
                sep_start = i;
            }
            (true, true) => {
                parts.push(&s[start..sep_start]);
                start = i;
                in_sep = false;
            }
            _ => {}
        }
    }
    if in_sep {
        parts.push(&s[start..sep_start]);
        parts.push("");
    } else {
        parts.push(&s[start..]);
    }
    parts
}

/// Python's Unicode `\w`. Approximation: Rust's alphanumeric (Alphabetic/Numeric properties) is
/// slightly wider than Python's (e.g. some combining marks), which only matters for exotic input.
fn is_word_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Django 3.2.16's shortcut (CVE-2021-45115 fix): skip values far shorter than the password.
fn exceeds_maximum_length_ratio(pwd_len: usize, value_len: usize) -> bool {
    let length_bound_similarity = MAX_SIMILARITY / 2.0 * pwd_len as f64;
    pwd_len >= 10 * value_len && (value_len as f64) < length_bound_similarity
}

/// difflib `SequenceMatcher(a, b).quick_ratio()`: 2*M/T with M = size of the multiset
/// intersection of the characters (code points), T = len(a)+len(b); 1.0 when both are empty.
fn quick_ratio(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let mut counts: HashMap<char, usize> = HashMap::new();
    for &c in b {
        *counts.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a {
        if let Some(n) = counts.get_mut(c) {
            if *n > 0 {
                *n -= 1;
                matches += 1;
            }
        }
    }
    2.0 * matches as f64 / total as f64
}

/// Decompressed once, on first use; lines stripped like Django does.
fn common_passwords() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut text = String::new();
        // Compiled into the binary and read by the unit tests: it cannot fail at run time, and
        // going on without the list would let common passwords through.
        #[allow(clippy::expect_used)]
        GzDecoder::new(COMMON_PASSWORDS_GZ)
            .read_to_string(&mut text)
            .expect("embedded common-passwords.txt.gz is valid gzip/UTF-8");
        text.lines().map(|l| py_strip(l).to_owned()).collect()
    })
}

/// Python `str.strip()`: Rust's whitespace plus the ASCII separators \x1c-\x1f, which Python
/// also treats as whitespace.
fn py_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

/// Python `str.isdigit()`: non-empty and all digits. Approximation for non-ASCII: `is_numeric`
/// (Nd/Nl/No) also accepts e.g. '½' or Roman numerals, which Python's isdigit rejects.
fn py_isdigit(s: &str) -> bool {
    !s.is_empty() && s.chars().all(char::is_numeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: &str = "This password is too short. It must contain at least 8 characters.";
    const COMMON: &str = "This password is too common.";
    const NUMERIC: &str = "This password is entirely numeric.";
    const SIM_USER: &str = "The password is too similar to the username.";

    fn attrs<'a>(u: &'a str, f: &'a str, l: &'a str, e: &'a str) -> UserAttributes<'a> {
        UserAttributes {
            username: u,
            first_name: f,
            last_name: l,
            email: e,
        }
    }

    /// Expected answers obtained from Django 3.2.16's `validate_password` with CVAT's validators.
    #[test]
    fn matches_django() {
        let a = attrs("johndoe", "John", "Doe", "john.doe@example.com");
        let b = attrs("admin1", "", "", "");
        let c = attrs("Δημήτρης", "Ωmega", "O'Brien-Smith", "dimitris_k@mail.gr");
        let d = attrs("x_", "", "", "@@");
        let e = attrs("abc", "", "", "@@");
        let sim = |n: &str| format!("The password is too similar to the {n}.");
        let cases: Vec<(&str, Option<&UserAttributes>, Vec<String>)> = vec![
            ("", None, vec![SHORT.into()]),
            ("", Some(&a), vec![SHORT.into()]),
            (
                "1234567",
                None,
                vec![SHORT.into(), COMMON.into(), NUMERIC.into()],
            ),
            ("12345678", None, vec![COMMON.into(), NUMERIC.into()]),
            ("password", None, vec![COMMON.into()]),
            ("Password", None, vec![COMMON.into()]),
            (" password ", None, vec![COMMON.into()]),
            ("PASSWORD1", None, vec![COMMON.into()]),
            ("!Q@W#E$R", None, vec![]),
            ("correct horse battery", Some(&a), vec![]),
            ("johndoe1", Some(&a), vec![SIM_USER.into()]),
            ("eodnhoj", Some(&a), vec![SIM_USER.into(), SHORT.into()]),
            (
                "john",
                Some(&a),
                vec![SIM_USER.into(), SHORT.into(), COMMON.into()],
            ),
            ("doe12345", Some(&a), vec![]),
            ("example.com!", Some(&a), vec![sim("email address")]),
            ("J0hnD0e!", Some(&a), vec![]),
            ("xx@example.comxx", Some(&a), vec![]),
            ("admin123", Some(&b), vec![SIM_USER.into(), COMMON.into()]),
            ("1dmin1", Some(&b), vec![SIM_USER.into(), SHORT.into()]),
            (
                "admin1",
                Some(&b),
                vec![SIM_USER.into(), SHORT.into(), COMMON.into()],
            ),
            ("Zz9!kQ2#", Some(&b), vec![]),
            ("δημήτρης99", Some(&c), vec![SIM_USER.into()]),
            ("ΩMEGA__42", Some(&c), vec![sim("first name")]),
            ("brien", Some(&c), vec![sim("last name"), SHORT.into()]),
            ("obriensmith", Some(&c), vec![sim("last name")]),
            ("dimitris_k", Some(&c), vec![sim("email address")]),
            ("mail.grrr", Some(&c), vec![]),
            ("١٢٣٤٥٦٧٨٩", None, vec![NUMERIC.into()]),
            ("²³⁴⁵⁶⁷⁸⁹", None, vec![NUMERIC.into()]),
            ("qwertyuiop", Some(&a), vec![COMMON.into()]),
            (
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaj",
                Some(&a),
                vec![],
            ),
            (
                "johnjohnjohnjohnjohnjohnjohnjohnjohnjohnjohnjohn",
                Some(&a),
                vec![],
            ),
            ("a", Some(&d), vec![SHORT.into(), COMMON.into()]),
            // re.split("@@") yields ['', ''], and quick_ratio('', '') == 1.0 in difflib.
            ("", Some(&e), vec![sim("email address"), SHORT.into()]),
        ];
        for (pw, at, want) in cases {
            assert_eq!(validate_password(pw, at), want, "password {pw:?}");
        }
    }

    #[test]
    fn re_split_semantics() {
        assert_eq!(
            split_nonword_runs("john.doe@example.com"),
            ["john", "doe", "example", "com"]
        );
        assert_eq!(split_nonword_runs("@@"), ["", ""]);
        assert_eq!(split_nonword_runs("-a--b-"), ["", "a", "b", ""]);
        assert_eq!(split_nonword_runs("dimitris_k"), ["dimitris_k"]);
        assert_eq!(split_nonword_runs(""), [""]);
    }

    #[test]
    fn common_list_loaded() {
        assert!(common_passwords().len() > 19_000);
        assert!(common_passwords().contains("bigpimpin1"));
    }
}
