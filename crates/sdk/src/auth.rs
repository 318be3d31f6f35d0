//! [`AuthApi`]: `/api/auth/*` (login, logout, register, password change, signing, personal
//! access tokens).

use reqwest::Method;

use crate::client::{ApiClient, Request};
use crate::error::Result;
use crate::models::{
    AccessToken, AccessTokenWriteRequest, Detail, LoginRequest, Paginated, PasswordChangeRequest,
    PasswordResetConfirmRequest, PasswordResetRequest, RegisterRequest, Registered, SigningRequest,
    Token,
};
use crate::users::{PageSize, Pages};

/// Paging of [`AuthApi::access_tokens_list`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageParams {
    pub page: Option<u32>,
    pub page_size: Option<PageSize>,
}

impl PageParams {
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(p) = self.page {
            q.push(("page".into(), p.to_string()));
        }
        if let Some(s) = self.page_size {
            q.push(("page_size".into(), s.to_string()));
        }
        q
    }
}

/// The authentication endpoints, like the Python SDK's `cvat_sdk.api.auth_api.AuthApi`.
///
/// A session, as a browser has it:
///
/// ```no_run
/// use cvat_sdk::{ApiClient, Configuration, LoginRequest};
///
/// let client = ApiClient::new(Configuration::new("http://localhost:8080"))?;
/// let token = client.auth_api().login(&LoginRequest::new("admin", "secret"))?;
/// // The client now holds the `sessionid` and `csrftoken` cookies and is authenticated by them;
/// // `token.key` works as `Credentials::Token` on another client.
/// println!("token {}, session {:?}", token.key, client.cookie("sessionid"));
/// println!("{}", client.users_api().users_retrieve_self()?.username());
/// client.auth_api().logout()?;
/// # Ok::<(), cvat_sdk::Error>(())
/// ```
///
/// A personal access token, for scripts:
///
/// ```no_run
/// use cvat_sdk::{AccessTokenWriteRequest, ApiClient, Configuration, Credentials};
///
/// let admin = ApiClient::new(
///     Configuration::new("http://localhost:8080").with_credentials(Credentials::basic("admin", "secret")),
/// )?;
/// let created = admin.auth_api().access_tokens_create(&AccessTokenWriteRequest {
///     name: Some("nightly export".into()),
///     read_only: Some(true),
///     ..Default::default()
/// })?;
/// let value = created.value.expect("the value is shown once, on creation");
///
/// let script = ApiClient::new(
///     Configuration::new("http://localhost:8080").with_credentials(Credentials::Bearer(value)),
/// )?;
/// assert_eq!(script.auth_api().access_tokens_retrieve_self()?.id, created.id);
/// admin.auth_api().access_tokens_destroy(created.id)?; // revoked: `script` now gets 401
/// # Ok::<(), cvat_sdk::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AuthApi<'a> {
    client: &'a ApiClient,
}

impl<'a> AuthApi<'a> {
    /// The authentication endpoints of `client`.
    pub fn new(client: &'a ApiClient) -> Self {
        AuthApi { client }
    }

    /// `POST /api/auth/login`: returns the user's API token and starts a session whose
    /// `sessionid` and `csrftoken` cookies the client keeps (and authenticates with from then on).
    /// Wrong credentials are a 400.
    #[doc(alias = "create_login")]
    pub fn login(&self, request: &LoginRequest) -> Result<Token> {
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/login").json(request))
    }

    /// `POST /api/auth/logout`: ends the session and deletes the user's API token (on the server,
    /// for every client sharing it), then forgets the client's cookies. Configured credentials
    /// are kept.
    #[doc(alias = "create_logout")]
    pub fn logout(&self) -> Result<Detail> {
        let detail = self
            .client
            .get_json(Request::new(Method::POST, "/api/auth/logout").empty_json())?;
        self.client.clear_cookies();
        Ok(detail)
    }

    /// `POST /api/auth/register`: creates a user (in group `user`) and logs it in: the client's
    /// cookies then belong to the new user's session, so register from an anonymous client.
    #[doc(alias = "create_register")]
    pub fn register(&self, request: &RegisterRequest) -> Result<Registered> {
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/register").json(request))
    }

    /// `POST /api/auth/password/change` for the authenticated user.
    #[doc(alias = "create_password_change")]
    pub fn password_change(&self, request: &PasswordChangeRequest) -> Result<Detail> {
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/password/change").json(request))
    }

    /// `POST /api/auth/password/reset`: mails a reset link to the address if it belongs to an
    /// active account. The answer is the same either way (nobody learns who has an account).
    #[doc(alias = "create_password_reset")]
    pub fn password_reset(&self, email: &str) -> Result<Detail> {
        let body = PasswordResetRequest {
            email: email.into(),
        };
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/password/reset").json(&body))
    }

    /// `POST /api/auth/password/reset/confirm`: the new password twice with the mailed link's
    /// `uid` and `token`. The user's sessions and tokens are revoked; the link works once.
    #[doc(alias = "create_password_reset_confirm")]
    pub fn password_reset_confirm(&self, request: &PasswordResetConfirmRequest) -> Result<Detail> {
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/password/reset/confirm").json(request))
    }

    /// `POST /api/auth/signing`: `url` signed for the authenticated user (the `sign` query
    /// parameter it carries is what [`Credentials::SignedUrl`](crate::Credentials::SignedUrl)
    /// takes). Signatures are short-lived and cover exactly that URL.
    #[doc(alias = "create_signing")]
    pub fn signing(&self, url: &str) -> Result<String> {
        let body = SigningRequest { url: url.into() };
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/signing").json(&body))
    }

    /// `GET /api/auth/access_tokens`: a page of the authenticated user's personal access tokens
    /// (never with their values).
    #[doc(alias = "list_access_tokens")]
    pub fn access_tokens_list(&self, params: &PageParams) -> Result<Paginated<AccessToken>> {
        self.client
            .get_json(Request::new(Method::GET, "/api/auth/access_tokens").query(params.query()))
    }

    /// Every page of [`AuthApi::access_tokens_list`], following `next`.
    pub fn access_tokens_list_pages(&self, params: &PageParams) -> Pages<'a, AccessToken> {
        Pages::new(
            self.client,
            Request::new(Method::GET, "/api/auth/access_tokens").query(params.query()),
        )
    }

    /// `POST /api/auth/access_tokens`: a new token; the answer's `value` is shown this once.
    #[doc(alias = "create_access_tokens")]
    pub fn access_tokens_create(&self, request: &AccessTokenWriteRequest) -> Result<AccessToken> {
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/access_tokens").json(request))
    }

    /// `GET /api/auth/access_tokens/{id}`.
    #[doc(alias = "retrieve_access_tokens")]
    pub fn access_tokens_retrieve(&self, id: i64) -> Result<AccessToken> {
        self.client.get_json(Request::new(
            Method::GET,
            format!("/api/auth/access_tokens/{id}"),
        ))
    }

    /// `GET /api/auth/access_tokens/self`: the token this client authenticates with
    /// ([`Credentials::Bearer`](crate::Credentials::Bearer) only; 404 otherwise).
    #[doc(alias = "retrieve_self_access_tokens")]
    pub fn access_tokens_retrieve_self(&self) -> Result<AccessToken> {
        self.client
            .get_json(Request::new(Method::GET, "/api/auth/access_tokens/self"))
    }

    /// `PATCH /api/auth/access_tokens/{id}`: renames it, or changes `read_only` or `expiry_date`.
    #[doc(alias = "partial_update_access_tokens")]
    pub fn access_tokens_partial_update(
        &self,
        id: i64,
        request: &AccessTokenWriteRequest,
    ) -> Result<AccessToken> {
        self.client.get_json(
            Request::new(Method::PATCH, format!("/api/auth/access_tokens/{id}")).json(request),
        )
    }

    /// `DELETE /api/auth/access_tokens/{id}`: revokes it (requests with it get 401 from then on).
    #[doc(alias = "destroy_access_tokens")]
    pub fn access_tokens_destroy(&self, id: i64) -> Result<()> {
        self.client.call(Request::new(
            Method::DELETE,
            format!("/api/auth/access_tokens/{id}"),
        ))?;
        Ok(())
    }

    /// `GET /api/auth/sessions`: your sessions, login tokens and access tokens, newest first.
    #[doc(alias = "list_sessions")]
    pub fn sessions_list(&self) -> Result<Vec<crate::Credential>> {
        self.client
            .get_json(Request::new(Method::GET, "/api/auth/sessions"))
    }

    /// `DELETE /api/auth/sessions/{id}`: revokes one of them (`id` as listed).
    #[doc(alias = "destroy_sessions")]
    pub fn sessions_revoke(&self, id: &str) -> Result<()> {
        self.client.call(Request::new(
            Method::DELETE,
            format!("/api/auth/sessions/{}", crate::invitations::url_segment(id)),
        ))?;
        Ok(())
    }

    /// `POST /api/auth/sessions/revoke-all`: signs out everywhere but this client.
    #[doc(alias = "create_sessions_revoke_all")]
    pub fn sessions_revoke_all(&self) -> Result<Detail> {
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/sessions/revoke-all"))
    }
}
