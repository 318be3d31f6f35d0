//! RFC 7644 §3.4.2.2's filter grammar, and §3.5.2's PATCH paths, parsed into a typed tree.
//! Nothing here knows a resource: `users_sql` compiles a tree to SQL, `eval` matches it
//! against a JSON value; both refuse attributes they do not know.
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")" / "(" FILTER ")"
//! attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
//! valuePath = attrPath "[" valFilter "]"
//! PATH      = attrPath / valuePath [ "." subAttr ]
//! ```
//! Keywords and operators are case-insensitive; `and` binds tighter than `or`.

/// An attribute path: `[urn ":"] attr ["." sub]`, names as written (compared ignoring case).
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URN when the path was qualified with one.
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
}

/// A comparison value: JSON's literals.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]`: some element of multi-valued `attr` matches `filter`, whose paths name
    /// the element's sub-attributes.
    ValuePath(AttrPath, Box<Filter>),
}

/// A PATCH operation's target: an attribute, or the elements of one that match a filter
/// (and, with `sub`, one sub-attribute of them).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// `members[value eq "1"].display`: the sub-attribute after a value filter.
    pub sub: Option<String>,
}

/// Why a filter or path does not parse: SCIM's `invalidFilter` / `invalidPath`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    /// A name, keyword or literal word (`userName`, `and`, `true`, `12`).
    Word(String),
    Str(String),
}

/// Filters longer than this are refused (a filter is a line, not a program).
const MAX_LEN: usize = 4096;
/// Nesting deeper than this is refused (the parser recurses).
const MAX_DEPTH: usize = 32;

fn lex(text: &str) -> Result<Vec<Token>, SyntaxError> {
    if text.len() > MAX_LEN {
        return Err(SyntaxError(format!(
            "The filter is longer than {MAX_LEN} bytes."
        )));
    }
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                // A JSON string: find its end, honouring escapes, and let serde decode it.
                let mut end = None;
                let mut escaped = false;
                for (j, d) in text[i + 1..].char_indices() {
                    match (escaped, d) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(i + 1 + j);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| SyntaxError("An unterminated string.".into()))?;
                let value: String = serde_json::from_str(&text[i..=end])
                    .map_err(|_| SyntaxError(format!("An invalid string: {}", &text[i..=end])))?;
                out.push(Token::Str(value));
                while chars.peek().is_some_and(|&(j, _)| j <= end) {
                    chars.next();
                }
            }
            _ => {
                let start = i;
                let mut end = text.len();
                while let Some(&(j, d)) = chars.peek() {
                    if matches!(d, ' ' | '\t' | '\n' | '\r' | '(' | ')' | '[' | ']' | '"') {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push(Token::Word(text[start..end].to_string()));
            }
        }
    }
    Ok(out)
}

/// Splits `[urn:]attr[.sub]` (a URN's last `:` separates it from the attribute).
pub fn attr_path(word: &str) -> Result<AttrPath, SyntaxError> {
    let bad = || SyntaxError(format!("\"{word}\" is not an attribute path."));
    let (urn, rest) = if word.to_ascii_lowercase().starts_with("urn:") {
        let cut = word.rfind(':').ok_or_else(bad)?;
        (Some(word[..cut].to_string()), &word[cut + 1..])
    } else {
        (None, word)
    };
    let mut parts = rest.split('.');
    let attr = parts.next().unwrap_or("").to_string();
    let sub = parts.next().map(str::to_string);
    let name_ok = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
    };
    if parts.next().is_some() || !name_ok(&attr) || sub.as_deref().is_some_and(|s| !name_ok(s)) {
        return Err(bad());
    }
    Ok(AttrPath { urn, attr, sub })
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), SyntaxError> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            _ => Err(SyntaxError(format!("Expected {what}."))),
        }
    }

    fn or(&mut self) -> Result<Filter, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError("The filter is nested too deeply.".into()));
        }
        let mut left = self.and()?;
        while self.keyword("or") {
            self.at += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, SyntaxError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.at += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, SyntaxError> {
        if self.keyword("not") {
            self.at += 1;
            self.expect(Token::Open, "\"(\" after \"not\"")?;
            let inner = self.or()?;
            self.expect(Token::Close, "\")\"")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(Token::Close, "\")\"")?;
                Ok(inner)
            }
            Some(Token::Word(word)) => self.attr_expression(&word),
            _ => Err(SyntaxError(
                "Expected an attribute path, \"not\" or \"(\".".into(),
            )),
        }
    }

    fn attr_expression(&mut self, word: &str) -> Result<Filter, SyntaxError> {
        let path = attr_path(word)?;
        if self.peek() == Some(&Token::OpenBracket) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::CloseBracket, "\"]\"")?;
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        let op = match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(path))
            }
            Some(Token::Word(w)) => CompareOp::parse(&w)
                .ok_or_else(|| SyntaxError(format!("\"{w}\" is not a comparison operator.")))?,
            _ => {
                return Err(SyntaxError(format!(
                    "Expected an operator after \"{word}\"."
                )))
            }
        };
        let value = match self.next() {
            Some(Token::Str(s)) => CompValue::Str(s),
            Some(Token::Word(w)) => match w.as_str() {
                "true" => CompValue::Bool(true),
                "false" => CompValue::Bool(false),
                "null" => CompValue::Null,
                number => CompValue::Num(
                    number
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| SyntaxError(format!("\"{w}\" is not a value.")))?,
                ),
            },
            _ => return Err(SyntaxError(format!("Expected a value after \"{word}\"."))),
        };
        Ok(Filter::Compare(path, op, value))
    }
}

/// Parses a `filter` query parameter (or a value-path's inner filter).
pub fn parse_filter(text: &str) -> Result<Filter, SyntaxError> {
    let mut p = Parser {
        tokens: lex(text)?,
        at: 0,
        depth: 0,
    };
    if p.tokens.is_empty() {
        return Err(SyntaxError("The filter is empty.".into()));
    }
    let filter = p.or()?;
    if p.at != p.tokens.len() {
        return Err(SyntaxError("Unexpected text after the filter.".into()));
    }
    Ok(filter)
}

/// Parses a PATCH operation's `path`.
pub fn parse_path(text: &str) -> Result<PatchPath, SyntaxError> {
    let bad = || SyntaxError(format!("\"{text}\" is not a valid path."));
    let Some(open) = text.find('[') else {
        return Ok(PatchPath {
            attr: attr_path(text.trim())?,
            filter: None,
            sub: None,
        });
    };
    let close = text.rfind(']').ok_or_else(bad)?;
    if close < open {
        return Err(bad());
    }
    let attr = attr_path(text[..open].trim())?;
    if attr.sub.is_some() {
        return Err(bad());
    }
    let filter = parse_filter(&text[open + 1..close])?;
    let sub = match text[close + 1..].trim() {
        "" => None,
        rest => {
            let name = rest.strip_prefix('.').ok_or_else(bad)?;
            let parsed = attr_path(name)?;
            if parsed.urn.is_some() || parsed.sub.is_some() {
                return Err(bad());
            }
            Some(parsed.attr)
        }
    };
    Ok(PatchPath {
        attr,
        filter: Some(filter),
        sub,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(attr: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            urn: None,
            attr: attr.into(),
            sub: sub.map(str::to_string),
        }
    }

    #[test]
    fn parses_the_rfc_examples() {
        for text in [
            r#"userName Eq "john""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            "active eq true and id gt 12.5 and x eq null",
        ] {
            parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_keywords_ignore_case() {
        let f = parse_filter(r#"a pr OR b pr AnD c pr"#).unwrap();
        let pr = |n: &str| Box::new(Filter::Present(path(n, None)));
        assert_eq!(
            f,
            Filter::Or(pr("a"), Box::new(Filter::And(pr("b"), pr("c"))))
        );
        let f =
            parse_filter(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "x\"y""#)
                .unwrap();
        assert_eq!(
            f,
            Filter::Compare(
                AttrPath {
                    urn: Some("urn:ietf:params:scim:schemas:core:2.0:User".into()),
                    attr: "name".into(),
                    sub: Some("givenName".into())
                },
                CompareOp::Eq,
                CompValue::Str("x\"y".into())
            )
        );
    }

    #[test]
    fn refuses_broken_filters() {
        for text in [
            "",
            "userName",
            "userName eq",
            r#"userName xx "a""#,
            r#"userName eq "a"#,
            r#"(userName eq "a""#,
            r#"userName eq "a")"#,
            r#"userName eq "a" and"#,
            r#"not userName eq "a""#,
            r#"emails[value eq "a""#,
            "userName eq bareword",
            "a.b.c pr",
            "1abc pr",
        ] {
            assert!(parse_filter(text).is_err(), "{text}");
        }
        let deep = format!("{}a pr{}", "(".repeat(100), ")".repeat(100));
        assert!(parse_filter(&deep).is_err());
    }

    #[test]
    fn parses_patch_paths() {
        let p = parse_path(r#"members[value eq "42"]"#).unwrap();
        assert_eq!(p.attr, path("members", None));
        assert!(p.filter.is_some() && p.sub.is_none());
        let p = parse_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(p.sub.as_deref(), Some("value"));
        let p = parse_path("name.givenName").unwrap();
        assert_eq!(p.attr, path("name", Some("givenName")));
        let p = parse_path("urn:cvat:params:scim:schemas:extension:2.0:User:systemGroups").unwrap();
        assert_eq!(p.attr.attr, "systemGroups");
        for bad in [
            "",
            "members[",
            "members]",
            r#"a.b[value eq "1"]"#,
            r#"m[value eq "1"]x"#,
        ] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }
}
