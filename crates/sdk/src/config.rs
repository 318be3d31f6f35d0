//! [`Configuration`]: where the server is and how to authenticate.

use std::fmt;
use std::time::Duration;

/// How requests authenticate (the Python SDK's `basicAuth`, `tokenAuth`, `sessionAuth` +
/// `csrfAuth`, `signatureAuth` and `accessTokenAuth` settings).
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: String },
    /// `Authorization: Token <key>`: the key returned by [`AuthApi::login`](crate::AuthApi::login).
    Token(String),
    /// A browser-style session: the `sessionid` and `csrftoken` cookies, plus `X-CSRFToken` and
    /// `Origin` headers so that unsafe methods pass CSRF checks.
    Session {
        sessionid: String,
        csrftoken: String,
    },
    /// A signed URL: the `sign` query parameter (decoded) of a URL from
    /// [`AuthApi::signing`](crate::AuthApi::signing); see [`Credentials::from_signed_url`]. It is
    /// only valid for the URL it was made for, and only for a short while.
    SignedUrl(String),
    /// `Authorization: Bearer <value>`: a personal access token
    /// ([`AuthApi::access_tokens_create`](crate::AuthApi::access_tokens_create)).
    Bearer(String),
}

impl Credentials {
    /// [`Credentials::Basic`].
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// [`Credentials::SignedUrl`] with the `sign` parameter of a URL that
    /// [`AuthApi::signing`](crate::AuthApi::signing) returned (`None` if it has none).
    ///
    /// ```
    /// use cvat_sdk::Credentials;
    /// let c = Credentials::from_signed_url("http://localhost:8080/api/users/self?sign=abc%3A1x%3Adef");
    /// assert_eq!(c, Some(Credentials::SignedUrl("abc:1x:def".into())));
    /// ```
    pub fn from_signed_url(url: &str) -> Option<Self> {
        let url = reqwest::Url::parse(url).ok()?;
        let sign = url.query_pairs().find(|(k, _)| k == "sign")?.1.into_owned();
        Some(Credentials::SignedUrl(sign))
    }

    /// [`Credentials::Session`].
    pub fn session(sessionid: impl Into<String>, csrftoken: impl Into<String>) -> Self {
        Credentials::Session {
            sessionid: sessionid.into(),
            csrftoken: csrftoken.into(),
        }
    }
}

/// Secrets are never printed.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"***")
                .finish(),
            Credentials::Token(_) => f.write_str("Token(***)"),
            Credentials::Session { .. } => {
                f.write_str("Session { sessionid: ***, csrftoken: *** }")
            }
            Credentials::SignedUrl(_) => f.write_str("SignedUrl(***)"),
            Credentials::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// The settings of an [`ApiClient`](crate::ApiClient), like the Python SDK's
/// `cvat_sdk.Configuration`.
///
/// ```
/// use std::time::Duration;
/// use cvat_sdk::{Configuration, Credentials};
///
/// let config = Configuration::new("http://localhost:8080/")
///     .with_credentials(Credentials::basic("admin", "secret"))
///     .with_organization("my-org")
///     .with_timeout(Duration::from_secs(10));
/// assert_eq!(config.host, "http://localhost:8080");
/// assert!(format!("{config:?}").contains("***")); // no password in logs
/// ```
#[derive(Clone, Debug)]
pub struct Configuration {
    /// `scheme://host[:port]` of the server, without a trailing `/` (e.g. `http://localhost:8080`).
    pub host: String,
    /// How to authenticate; `None` for anonymous requests (and for a session started with
    /// [`AuthApi::login`](crate::AuthApi::login), whose cookies the client keeps).
    pub credentials: Option<Credentials>,
    /// An organization slug sent as `X-Organization` on every request (the Python client's
    /// `organization_slug`). `Some("")` means the personal workspace.
    pub organization: Option<String>,
    /// Timeout of a whole request (default 60 s).
    pub timeout: Duration,
    /// Sent as `User-Agent`.
    pub user_agent: String,
    /// A current TOTP code, sent as `X-CVAT-OTP` with Basic credentials of a user with the
    /// second factor (each code works once).
    pub otp: Option<OtpCode>,
}

/// A TOTP code; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(pub String);

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(***)")
    }
}

impl Configuration {
    /// Settings for `host` (`http://...` or `https://...`; a trailing `/` is dropped), anonymous.
    pub fn new(host: impl Into<String>) -> Self {
        let host: String = host.into();
        Configuration {
            host: host.trim().trim_end_matches('/').to_string(),
            credentials: None,
            organization: None,
            timeout: Duration::from_secs(60),
            user_agent: format!("cvat-sdk-rust/{}", env!("CARGO_PKG_VERSION")),
            otp: None,
        }
    }

    /// Sets the credentials.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sends `X-Organization: slug` on every request.
    pub fn with_organization(mut self, slug: impl Into<String>) -> Self {
        self.organization = Some(slug.into());
        self
    }

    /// Sets the timeout of a whole request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends `X-CVAT-OTP: code` with Basic credentials (users with TOTP).
    pub fn with_otp(mut self, code: impl Into<String>) -> Self {
        self.otp = Some(OtpCode(code.into()));
        self
    }

    /// Sets the `User-Agent`.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }
}
