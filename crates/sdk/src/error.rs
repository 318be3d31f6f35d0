//! The one error type of the SDK.

use std::fmt;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// What can go wrong with a call.
///
/// Every HTTP status outside `2xx` becomes [`Error::Api`], which keeps the status and the
/// server's answer, parsed: CVAT answers `{"detail": "..."}`, a map of field errors
/// (`{"username": ["..."]}`) or a list of messages, and [`ErrorBody::message`] turns any of
/// these into one line.
///
/// ```
/// use cvat_sdk::{Error, ErrorBody, StatusCode};
///
/// let body = ErrorBody::parse(r#"{"detail": "You do not have permission to perform this action."}"#);
/// assert_eq!(body.message(), "You do not have permission to perform this action.");
///
/// let err = Error::Api {
///     status: StatusCode::FORBIDDEN,
///     method: cvat_sdk::Method::DELETE,
///     url: "http://localhost:8080/api/users/2".into(),
///     body,
/// };
/// assert_eq!(err.status(), Some(StatusCode::FORBIDDEN));
/// assert_eq!(err.to_string(), "403 Forbidden: You do not have permission to perform this action.");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a status outside `2xx`.
    #[error("{}", api_line(*status, body))]
    Api {
        status: StatusCode,
        method: Method,
        url: String,
        body: ErrorBody,
    },
    /// The request did not get an answer: connection refused, DNS, TLS, timeout...
    #[error("cannot reach {url}: {}", root_cause(source))]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// A `2xx` answer whose body is not the JSON the API describes.
    #[error("unexpected answer from {url} ({status}): {source}")]
    Decode {
        status: StatusCode,
        url: String,
        /// The body as received (for diagnostics).
        body: String,
        #[source]
        source: serde_json::Error,
    },
    /// The [`Configuration`](crate::Configuration) or a parameter cannot be used (a host that
    /// is not an `http(s)://` URL, a header value with a newline, ...).
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status of an [`Error::Api`] (`None` for the other kinds).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's answer of an [`Error::Api`].
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            Error::Api { body, .. } => Some(body),
            _ => None,
        }
    }

    /// `true` for an [`Error::Api`] with this status code.
    pub fn is_status(&self, code: u16) -> bool {
        self.status().is_some_and(|s| s.as_u16() == code)
    }

    /// The machine-readable `code` of the second factor's refusals (`mfa_required`,
    /// `mfa_code_invalid`, `mfa_token_invalid`, `mfa_locked`, ...).
    pub fn code(&self) -> Option<&str> {
        self.body()?.json()?.get("code")?.as_str()
    }

    /// The step-two ticket of a login's 401 `mfa_required` (for
    /// [`MfaApi::login_mfa`](crate::MfaApi::login_mfa)).
    pub fn mfa_ticket(&self) -> Option<String> {
        if self.code() != Some("mfa_required") {
            return None;
        }
        Some(self.body()?.json()?.get("mfa_token")?.as_str()?.to_string())
    }
}

/// The body of an error answer: JSON when it parses as JSON, the text otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorBody {
    /// Boxed: keeps [`Error`] small.
    Json(Box<Value>),
    Text(String),
}

impl ErrorBody {
    /// Parses an answer body: JSON if it is JSON, else the text as it is.
    pub fn parse(text: &str) -> ErrorBody {
        match serde_json::from_str(text) {
            Ok(v) => ErrorBody::Json(Box::new(v)),
            Err(_) => ErrorBody::Text(text.to_string()),
        }
    }

    /// The JSON value, when the body was JSON.
    pub fn json(&self) -> Option<&Value> {
        match self {
            ErrorBody::Json(v) => Some(&**v),
            ErrorBody::Text(_) => None,
        }
    }

    /// `{"detail": "..."}`'s text, when the body has that shape.
    pub fn detail(&self) -> Option<&str> {
        self.json()?.get("detail")?.as_str()
    }

    /// The server's message on one line: the `detail`, the messages of a list, `field: message`
    /// pairs of a field map (`non_field_errors` without its name), the title of an HTML page, or
    /// the text itself. Empty when the body is empty.
    ///
    /// ```
    /// use cvat_sdk::ErrorBody;
    /// let b = ErrorBody::parse(r#"{"username": ["A user with that username already exists."], "email": ["Enter a valid email address."]}"#);
    /// assert_eq!(b.message(), "username: A user with that username already exists.; email: Enter a valid email address.");
    /// assert_eq!(ErrorBody::parse(r#"["filter: Json syntax should be used"]"#).message(), "filter: Json syntax should be used");
    /// ```
    pub fn message(&self) -> String {
        let text = match self {
            ErrorBody::Json(v) => json_message(v),
            ErrorBody::Text(t) => text_message(t),
        };
        one_line(&text)
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

fn api_line(status: StatusCode, body: &ErrorBody) -> String {
    let message = body.message();
    if message.is_empty() {
        status.to_string()
    } else {
        format!("{status}: {message}")
    }
}

fn json_message(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(json_message).collect::<Vec<_>>().join(" "),
        Value::Object(map) => {
            if let Some(Value::String(detail)) = map.get("detail") {
                return detail.clone();
            }
            map.iter()
                .map(|(k, v)| {
                    let m = json_message(v);
                    if k == "non_field_errors" || k == "detail" {
                        m
                    } else {
                        format!("{k}: {m}")
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn text_message(t: &str) -> String {
    let lower = t.to_ascii_lowercase();
    if lower.contains("<html") || lower.contains("<!doctype") {
        for tag in ["title", "h1"] {
            let open = format!("<{tag}>");
            let close = format!("</{tag}>");
            if let Some(start) = lower.find(&open) {
                let rest = &t[start + open.len()..];
                if let Some(end) = rest.to_ascii_lowercase().find(&close) {
                    return rest[..end].trim().to_string();
                }
            }
        }
    }
    t.to_string()
}

/// Whitespace collapsed, at most 300 characters.
fn one_line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() > 300 {
        let cut: String = joined.chars().take(299).collect();
        format!("{cut}…")
    } else {
        joined
    }
}

/// The innermost cause: "Connection refused (os error 111)" rather than reqwest's
/// "error sending request for url (...)".
fn root_cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "the request timed out".into();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    one_line(&cause.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_every_body_shape() {
        let m = |s: &str| ErrorBody::parse(s).message();
        assert_eq!(m(r#"{"detail": "Not found."}"#), "Not found.");
        assert_eq!(
            m(r#"{"non_field_errors": ["Unable to log in with provided credentials."]}"#),
            "Unable to log in with provided credentials."
        );
        assert_eq!(m(r#"{"a": ["x", "y"], "b": ["z"]}"#), "a: x y; b: z");
        assert_eq!(m(r#"["one", "two"]"#), "one two");
        assert_eq!(m(r#""a JSON string""#), "a JSON string");
        assert_eq!(m(""), "");
        assert_eq!(m("plain\n  text"), "plain text");
        assert_eq!(
            m("<!doctype html><html><head><title>Not Found</title></head></html>"),
            "Not Found"
        );
        assert!(m(&"x".repeat(1000)).chars().count() <= 300);
    }

    #[test]
    fn api_error_lines() {
        let e = |status: u16, body: &str| Error::Api {
            status: StatusCode::from_u16(status).unwrap(),
            method: Method::GET,
            url: "http://h/api/users".into(),
            body: ErrorBody::parse(body),
        };
        assert_eq!(
            e(401, r#"{"detail": "Invalid token."}"#).to_string(),
            "401 Unauthorized: Invalid token."
        );
        assert_eq!(e(502, "").to_string(), "502 Bad Gateway");
        assert!(e(404, "{}").is_status(404));
        assert_eq!(
            e(404, r#"{"detail": "Not found."}"#)
                .body()
                .unwrap()
                .detail(),
            Some("Not found.")
        );
    }
}
