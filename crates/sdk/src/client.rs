//! [`ApiClient`]: the HTTP transport shared by [`UsersApi`], [`AuthApi`] and [`ServerApi`].

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError, RwLock};

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::config::{Configuration, Credentials};
use crate::error::{Error, ErrorBody, Result};
use crate::{AuthApi, ServerApi, UsersApi};

/// CVAT's media type, sent as `Accept` on every call that returns JSON.
pub const CVAT_JSON: &str = "application/vnd.cvat+json";

/// A connection to one CVAT server, like the Python SDK's `cvat_sdk.ApiClient`.
///
/// It holds the [`Configuration`], a connection pool, and the cookies the server set on
/// successful answers (after [`AuthApi::login`] these are `sessionid` and `csrftoken`, and the
/// client is then authenticated by that session: it sends the cookies with `X-CSRFToken` and
/// `Origin`). It is `Send + Sync`; share it by reference.
///
/// ```
/// use cvat_sdk::{ApiClient, Configuration, Credentials};
///
/// let client = ApiClient::new(
///     Configuration::new("http://localhost:8080").with_credentials(Credentials::Token("0123".into())),
/// )?;
/// assert_eq!(client.host(), "http://localhost:8080");
/// assert!(client.cookie("sessionid").is_none());
/// # Ok::<(), cvat_sdk::Error>(())
/// ```
pub struct ApiClient {
    config: Configuration,
    base: Url,
    origin: String,
    http: reqwest::blocking::Client,
    credentials: RwLock<Option<Credentials>>,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("host", &self.config.host)
            .field("credentials", &self.credentials())
            .field("cookies", &self.cookies().keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A request body.
pub(crate) enum Body {
    None,
    /// Serialized JSON, sent with `Content-Type: application/json`.
    Json(Vec<u8>),
    /// No body, but `Content-Type: application/json` and `Content-Length: 0` (CVAT's logout).
    EmptyJson,
    /// A body that did not serialize: reported when the call is sent.
    Unserializable(String),
}

/// One call: method, a path (`/api/...`) or an absolute URL (a `next` link), query pairs.
pub(crate) struct Request {
    pub method: Method,
    pub target: String,
    pub query: Vec<(String, String)>,
    /// Per-call `X-Organization` (wins over the configuration's).
    pub x_organization: Option<String>,
    pub body: Body,
    /// Send `Accept: application/vnd.cvat+json` (every call but DELETE).
    pub accept_json: bool,
}

impl Request {
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        let accept_json = method != Method::DELETE;
        Request {
            method,
            target: target.into(),
            query: Vec::new(),
            x_organization: None,
            body: Body::None,
            accept_json,
        }
    }

    pub fn query(mut self, pairs: Vec<(String, String)>) -> Self {
        self.query = pairs;
        self
    }

    pub fn organization(mut self, x_organization: Option<String>) -> Self {
        self.x_organization = x_organization;
        self
    }

    pub fn json(mut self, value: &impl serde::Serialize) -> Self {
        self.body = match serde_json::to_vec(value) {
            Ok(bytes) => Body::Json(bytes),
            Err(e) => Body::Unserializable(e.to_string()),
        };
        self
    }

    pub fn empty_json(mut self) -> Self {
        self.body = Body::EmptyJson;
        self
    }
}

/// A successful (`2xx`) answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub url: String,
    pub text: String,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.text).map_err(|source| Error::Decode {
            status: self.status,
            url: self.url.clone(),
            body: self.text.clone(),
            source,
        })
    }
}

impl ApiClient {
    /// A client for `config`. Fails with [`Error::Config`] when the host is not an
    /// `http://` or `https://` URL. No request is made.
    pub fn new(config: Configuration) -> Result<ApiClient> {
        let base = Url::parse(&config.host)
            .map_err(|e| Error::Config(format!("host {:?} is not a URL: {e}", config.host)))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(Error::Config(format!(
                "host {:?} must start with http:// or https:// and name a server",
                config.host
            )));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::Config(format!(
                "host {:?} must not have a query or fragment",
                config.host
            )));
        }
        let origin = base.origin().ascii_serialization();
        let http = reqwest::blocking::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(std::time::Duration::from_secs(15)))
            // Redirects would replay credentials elsewhere; the API never redirects.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let credentials = RwLock::new(config.credentials.clone());
        Ok(ApiClient {
            config,
            base,
            origin,
            http,
            credentials,
            cookies: Mutex::new(BTreeMap::new()),
        })
    }

    /// The configuration this client was made with (its `credentials` are the initial ones; see
    /// [`ApiClient::credentials`] for the current ones).
    pub fn configuration(&self) -> &Configuration {
        &self.config
    }

    /// The server's base URL, e.g. `http://localhost:8080`.
    pub fn host(&self) -> &str {
        &self.config.host
    }

    /// The credentials sent now.
    pub fn credentials(&self) -> Option<Credentials> {
        self.credentials
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the credentials (e.g. with a personal access token just created).
    pub fn set_credentials(&self, credentials: Option<Credentials>) {
        *self
            .credentials
            .write()
            .unwrap_or_else(PoisonError::into_inner) = credentials;
    }

    /// A cookie the server set (e.g. `sessionid` or `csrftoken` after a login).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar().get(name).cloned()
    }

    /// All cookies the server set, by name.
    pub fn cookies(&self) -> BTreeMap<String, String> {
        self.jar().clone()
    }

    /// Forgets the cookies (ends the client side of a session without telling the server).
    pub fn clear_cookies(&self) {
        self.jar().clear();
    }

    /// [`UsersApi`] on this client.
    pub fn users_api(&self) -> UsersApi<'_> {
        UsersApi::new(self)
    }

    /// [`AuthApi`] on this client.
    pub fn auth_api(&self) -> AuthApi<'_> {
        AuthApi::new(self)
    }

    /// [`MfaApi`](crate::MfaApi) on this client.
    pub fn mfa_api(&self) -> crate::MfaApi<'_> {
        crate::MfaApi::new(self)
    }

    /// [`InvitationsApi`](crate::InvitationsApi) on this client.
    pub fn invitations_api(&self) -> crate::InvitationsApi<'_> {
        crate::InvitationsApi::new(self)
    }

    /// [`ServerApi`] on this client.
    pub fn audit_api(&self) -> crate::AuditApi<'_> {
        crate::AuditApi::new(self)
    }

    pub fn server_api(&self) -> ServerApi<'_> {
        ServerApi::new(self)
    }

    fn jar(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.cookies.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The absolute URL of a path or of a link the server sent. Links to another origin (a
    /// server behind a proxy may not know its public name) are re-based onto the configured
    /// host, so credentials never go anywhere else.
    fn resolve(&self, target: &str) -> Result<Url> {
        if target.starts_with("http://") || target.starts_with("https://") {
            let url = Url::parse(target)
                .map_err(|e| Error::Config(format!("bad link {target:?}: {e}")))?;
            if url.origin() == self.base.origin() {
                return Ok(url);
            }
            let mut rebased = self.resolve(url.path())?;
            rebased.set_query(url.query());
            return Ok(rebased);
        }
        let prefix = self.base.path().trim_end_matches('/');
        let path = if !prefix.is_empty() && target.starts_with(prefix) {
            target.to_string()
        } else {
            format!("{prefix}{target}")
        };
        let mut url = self.base.clone();
        url.set_path(&path);
        Ok(url)
    }

    /// Sends a request; a status outside `2xx` becomes [`Error::Api`].
    pub(crate) fn call(&self, req: Request) -> Result<Answer> {
        let mut url = self.resolve(&req.target)?;
        let credentials = self.credentials();
        {
            let has_sign = url.query_pairs().any(|(k, _)| k == "sign");
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &req.query {
                pairs.append_pair(k, v);
            }
            if let (Some(Credentials::SignedUrl(sign)), false) = (&credentials, has_sign) {
                pairs.append_pair("sign", sign);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let url_text = url.to_string();
        let mut rb = self.http.request(req.method.clone(), url);
        if req.accept_json {
            rb = rb.header(ACCEPT, CVAT_JSON);
        }

        let mut cookies = self.jar().clone();
        let mut csrf = cookies.get("csrftoken").cloned();
        match &credentials {
            Some(Credentials::Basic { username, password }) => {
                rb = rb.basic_auth(username, Some(password));
                if let Some(otp) = &self.config.otp {
                    rb = rb.header("X-CVAT-OTP", otp.0.as_str());
                }
            }
            Some(Credentials::Token(key)) => rb = rb.header(AUTHORIZATION, format!("Token {key}")),
            Some(Credentials::Bearer(value)) => {
                rb = rb.header(AUTHORIZATION, format!("Bearer {value}"))
            }
            Some(Credentials::Session {
                sessionid,
                csrftoken,
            }) => {
                cookies.insert("sessionid".into(), sessionid.clone());
                cookies.insert("csrftoken".into(), csrftoken.clone());
                csrf = Some(csrftoken.clone());
            }
            Some(Credentials::SignedUrl(_)) | None => {}
        }
        if !cookies.is_empty() {
            let header = cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            rb = rb.header(COOKIE, header);
        }
        if let Some(token) = csrf {
            rb = rb.header("X-CSRFToken", token).header(ORIGIN, &self.origin);
        }
        if let Some(org) = req
            .x_organization
            .as_ref()
            .or(self.config.organization.as_ref())
        {
            rb = rb.header("X-Organization", org);
        }
        rb = match req.body {
            Body::Unserializable(why) => {
                return Err(Error::Config(format!(
                    "the body for {url_text} does not serialize: {why}"
                )))
            }
            Body::None => rb,
            Body::Json(bytes) => rb.header(CONTENT_TYPE, "application/json").body(bytes),
            Body::EmptyJson => rb.header(CONTENT_TYPE, "application/json").body(Vec::new()),
        };

        let response = rb.send().map_err(|source| {
            if source.is_builder() {
                Error::Config(format!("cannot build the request to {url_text}: {source}"))
            } else {
                Error::Transport {
                    url: url_text.clone(),
                    source,
                }
            }
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().map_err(|source| Error::Transport {
            url: url_text.clone(),
            source,
        })?;
        if !status.is_success() {
            return Err(Error::Api {
                status,
                method: req.method,
                url: url_text,
                body: ErrorBody::parse(&text),
            });
        }
        self.store_cookies(&headers);
        Ok(Answer {
            status,
            url: url_text,
            text,
        })
    }

    /// Keeps the `Set-Cookie`s of a successful answer; `Max-Age=0` or an empty value deletes.
    fn store_cookies(&self, headers: &HeaderMap) {
        let mut jar = self.jar();
        for value in headers.get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, val)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, val) = (name.trim(), val.trim().trim_matches('"'));
            let expired = parts.any(|attr| {
                attr.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("max-age") && v.trim().starts_with(['0', '-'])
                })
            });
            if expired || val.is_empty() {
                jar.remove(name);
            } else {
                jar.insert(name.to_string(), val.to_string());
            }
        }
    }

    pub(crate) fn get_json<T: DeserializeOwned>(&self, req: Request) -> Result<T> {
        self.call(req)?.json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(host: &str) -> ApiClient {
        ApiClient::new(Configuration::new(host)).unwrap()
    }

    #[test]
    fn paths_and_links_resolve_onto_the_configured_host() {
        let same = "http://127.0.0.1:8080/api/users?page=2&page_size=5";
        let link = "https://example.com/cvat/api/users?page=2";
        for (host, path_or_link, resolved) in [
            (
                "http://127.0.0.1:8080",
                "/api/users",
                "http://127.0.0.1:8080/api/users",
            ),
            ("http://127.0.0.1:8080", same, same),
            // A link with another origin (a proxy's idea of the server) keeps only path and query.
            (
                "http://127.0.0.1:8080",
                "https://cvat.internal/api/users?page=3",
                "http://127.0.0.1:8080/api/users?page=3",
            ),
            // A host with a path prefix.
            (
                "https://example.com/cvat/",
                "/api/users/self",
                "https://example.com/cvat/api/users/self",
            ),
            ("https://example.com/cvat/", link, link),
        ] {
            let got = client(host).resolve(path_or_link).unwrap();
            assert_eq!(got.as_str(), resolved, "{host} + {path_or_link}");
        }
    }

    #[test]
    fn set_cookie_headers_fill_and_empty_the_jar() {
        let c = client("http://localhost");
        let mut headers = HeaderMap::new();
        headers.append(
            SET_COOKIE,
            "csrftoken=abc123; expires=Wed, 08 Jan 2025 12:00:00 GMT; Max-Age=31449600; Path=/; SameSite=Lax"
                .parse()
                .unwrap(),
        );
        headers.append(
            SET_COOKIE,
            "sessionid=s3ss; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"
                .parse()
                .unwrap(),
        );
        c.store_cookies(&headers);
        assert_eq!(c.cookie("csrftoken").as_deref(), Some("abc123"));
        assert_eq!(c.cookie("sessionid").as_deref(), Some("s3ss"));

        let mut clear = HeaderMap::new();
        clear.append(
            SET_COOKIE,
            "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax".parse().unwrap(),
        );
        c.store_cookies(&clear);
        assert_eq!(c.cookie("sessionid"), None);
        assert_eq!(c.cookies().len(), 1);
        c.clear_cookies();
        assert!(c.cookies().is_empty());
    }

    #[test]
    fn credentials_are_never_printed() {
        let c = ApiClient::new(
            Configuration::new("http://h").with_credentials(Credentials::basic("u", "hunter2")),
        )
        .unwrap();
        let shown = format!("{c:?} {:?}", c.configuration());
        assert!(!shown.contains("hunter2"), "{shown}");
        for secret in [
            Credentials::Token("s3cr3t".into()),
            Credentials::Bearer("s3cr3t".into()),
            Credentials::SignedUrl("s3cr3t".into()),
            Credentials::session("s3cr3t", "s3cr3t"),
        ] {
            assert!(!format!("{secret:?}").contains("s3cr3t"));
        }
    }
}
