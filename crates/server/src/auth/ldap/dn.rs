//! Distinguished names compared the way the directory compares them (sso-and-mfa §2.6 step 6):
//! parsed into RDNs, attribute types and values case-insensitive, spaces around `,`, `+` and
//! `=` ignored, escapes (RFC 4514 §2.4: `\,` or `\2c`) undone. CVAT compared lower-cased
//! strings, so `CN=x, DC=y` never matched `cn=x,dc=y` (§1.2 flaw b).

/// A parsed DN: its RDNs in order, each a sorted list of (type, value), both lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dn(Vec<Vec<(String, String)>>);

impl Dn {
    /// `None` when `text` is not a DN (an RDN without `=`, a dangling escape, bad hex).
    pub fn parse(text: &str) -> Option<Dn> {
        let mut rdns = Vec::new();
        let mut rdn = Vec::new();
        let mut chars = text.chars().peekable();
        loop {
            let mut kind = String::new();
            let mut equals = false;
            for c in chars.by_ref() {
                if c == '=' {
                    equals = true;
                    break;
                }
                kind.push(c);
            }
            let kind = kind.trim().to_lowercase();
            if kind.is_empty() || !equals {
                return None;
            }
            // The value up to an unescaped `,`, `+` or `;`; escapes decoded to bytes.
            let mut value: Vec<u8> = Vec::new();
            let mut kept = 0; // length up to the last escaped byte (never trimmed)
            let mut end = None;
            while let Some(c) = chars.next() {
                match c {
                    ',' | ';' | '+' => {
                        end = Some(c);
                        break;
                    }
                    '\\' => {
                        let first = chars.next()?;
                        if first.is_ascii_hexdigit() {
                            let second = chars.next()?;
                            let byte = u8::from_str_radix(&format!("{first}{second}"), 16).ok()?;
                            value.push(byte);
                        } else {
                            let mut buf = [0u8; 4];
                            value.extend_from_slice(first.encode_utf8(&mut buf).as_bytes());
                        }
                        kept = value.len();
                    }
                    c => {
                        let mut buf = [0u8; 4];
                        value.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
            while value.len() > kept && value.last() == Some(&b' ') {
                value.pop();
            }
            let start = value.iter().take_while(|b| **b == b' ').count();
            let value = String::from_utf8_lossy(&value[start..]).to_lowercase();
            rdn.push((kind, value));
            if end != Some('+') {
                rdn.sort();
                rdns.push(std::mem::take(&mut rdn));
            }
            if end.is_none() {
                break;
            }
        }
        Some(Dn(rdns))
    }

    /// Whether `text` parses to this DN.
    pub fn matches(&self, text: &str) -> bool {
        Dn::parse(text).is_some_and(|d| d == *self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_case_and_escapes_do_not_matter() {
        let a = Dn::parse("cn=cvat-workers,ou=groups,dc=example,dc=test").unwrap();
        assert!(a.matches("CN=cvat-workers, OU=groups, DC=example, DC=test"));
        assert!(a.matches("cn = CVAT-Workers ,ou=groups,dc=example,dc=test"));
        assert!(!a.matches("cn=cvat-admins,ou=groups,dc=example,dc=test"));
        assert!(!a.matches("ou=groups,dc=example,dc=test"));
        let dan = Dn::parse("uid=dan\\28ops\\29,ou=people,dc=example,dc=test").unwrap();
        assert!(dan.matches("uid=dan(ops),ou=people,dc=example,dc=test"));
        let comma = Dn::parse("cn=a\\,b,dc=x").unwrap();
        assert!(comma.matches("cn=a\\2cb,dc=x"));
        assert!(!comma.matches("cn=a,cn=b,dc=x"));
        assert!(Dn::parse("cn=a+uid=b,dc=x")
            .unwrap()
            .matches("uid=b+cn=a,dc=x"));
        assert!(Dn::parse("no equals").is_none());
        assert!(Dn::parse("=x").is_none());
        assert!(Dn::parse("cn=a\\").is_none());
    }
}
