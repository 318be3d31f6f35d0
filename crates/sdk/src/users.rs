//! [`UsersApi`]: `/api/users`.

use std::marker::PhantomData;

use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::client::{ApiClient, Request};
use crate::error::Result;
use crate::models::{MetaUser, Paginated, PaginatedMetaUserList, PatchedUserRequest};

/// `page_size`: a number of items, or `all` (everything on one page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageSize {
    Count(u32),
    All,
}

impl From<u32> for PageSize {
    fn from(n: u32) -> Self {
        PageSize::Count(n)
    }
}

impl std::fmt::Display for PageSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageSize::Count(n) => write!(f, "{n}"),
            PageSize::All => f.write_str("all"),
        }
    }
}

/// The organization context of one call (the Python SDK's `x_organization`, `org` and
/// `org_id` arguments). [`Configuration::organization`](crate::Configuration::organization)
/// sets a default `X-Organization` for every call instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgContext {
    /// `X-Organization` header: an organization slug, `""` for the personal workspace.
    pub x_organization: Option<String>,
    /// `org` query parameter: an organization slug.
    pub org: Option<String>,
    /// `org_id` query parameter.
    pub org_id: Option<i64>,
}

impl OrgContext {
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(org) = &self.org {
            q.push(("org".into(), org.clone()));
        }
        if let Some(id) = self.org_id {
            q.push(("org_id".into(), id.to_string()));
        }
        q
    }
}

/// The parameters of [`UsersApi::users_list`]; every one is optional.
///
/// ```
/// use cvat_sdk::{PageSize, UsersListParams};
///
/// let params = UsersListParams {
///     search: Some("ann".into()),
///     filter: Some(r#"{"==": [{"var": "is_active"}, true]}"#.into()),
///     sort: Some("-id".into()),
///     page_size: Some(PageSize::All),
///     ..Default::default()
/// };
/// let query = params.query();
/// assert!(query.contains(&("page_size".to_string(), "all".to_string())));
/// assert!(query.contains(&("sort".to_string(), "-id".to_string())));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersListParams {
    /// A page number (1-based).
    pub page: Option<u32>,
    /// Items per page (server default 10), or [`PageSize::All`].
    pub page_size: Option<PageSize>,
    /// Words searched in `username`, `first_name` and `last_name`.
    pub search: Option<String>,
    /// A JSON-logic filter, e.g. `{"and": [{"==": [{"var": "is_active"}, true]}]}`.
    pub filter: Option<String>,
    /// Comma-separated fields, `-` for descending (e.g. `-is_active,username`).
    pub sort: Option<String>,
    /// `org` query parameter: an organization slug.
    pub org: Option<String>,
    /// `org_id` query parameter.
    pub org_id: Option<i64>,
    /// `X-Organization` header.
    pub x_organization: Option<String>,
    /// Exact `username`.
    pub username: Option<String>,
    /// Exact `first_name`.
    pub first_name: Option<String>,
    /// Exact `last_name`.
    pub last_name: Option<String>,
    /// Only active (`true`) or inactive (`false`) users.
    pub is_active: Option<bool>,
}

impl UsersListParams {
    /// The query string pairs these parameters make, in the order sent.
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                q.push((k.to_string(), v));
            }
        };
        put("filter", self.filter.clone());
        put("first_name", self.first_name.clone());
        put(
            "is_active",
            self.is_active
                .map(|b| if b { "true".into() } else { "false".into() }),
        );
        put("last_name", self.last_name.clone());
        put("org", self.org.clone());
        put("org_id", self.org_id.map(|n| n.to_string()));
        put("page", self.page.map(|n| n.to_string()));
        put("page_size", self.page_size.map(|n| n.to_string()));
        put("search", self.search.clone());
        put("sort", self.sort.clone());
        put("username", self.username.clone());
        q
    }
}

/// The users endpoints, like the Python SDK's `cvat_sdk.api.users_api.UsersApi`.
///
/// ```no_run
/// use cvat_sdk::{ApiClient, Configuration, Credentials, PatchedUserRequest, UsersListParams};
///
/// let client = ApiClient::new(
///     Configuration::new("http://localhost:8080").with_credentials(Credentials::basic("admin", "secret")),
/// )?;
/// let users = client.users_api();
///
/// let me = users.users_retrieve_self()?;
/// println!("I am {} (id {})", me.username(), me.id());
///
/// let page = users.users_list(&UsersListParams { search: Some("bob".into()), ..Default::default() })?;
/// println!("{} users match", page.count);
///
/// for user in users.users_list_all(UsersListParams::default()) {
///     println!("{}", user?.username());
/// }
///
/// let patch = PatchedUserRequest { first_name: Some("Robert".into()), ..Default::default() };
/// users.users_partial_update(2, &patch)?;
/// users.users_destroy(3)?;
/// # Ok::<(), cvat_sdk::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct UsersApi<'a> {
    client: &'a ApiClient,
}

impl<'a> UsersApi<'a> {
    /// The users endpoints of `client`.
    pub fn new(client: &'a ApiClient) -> Self {
        UsersApi { client }
    }

    /// `GET /api/users`: one page of users. Staff get full [`User`](crate::User)s, others
    /// [`BasicUser`](crate::BasicUser)s.
    #[doc(alias = "list")]
    pub fn users_list(&self, params: &UsersListParams) -> Result<PaginatedMetaUserList> {
        let req = Request::new(Method::GET, "/api/users")
            .query(params.query())
            .organization(params.x_organization.clone());
        self.client.get_json(req)
    }

    /// Every page of `GET /api/users`, starting at `params.page` (default 1) and following each
    /// page's `next` link. Stops after the first error.
    pub fn users_list_pages(&self, params: UsersListParams) -> Pages<'a, MetaUser> {
        let req = Request::new(Method::GET, "/api/users")
            .query(params.query())
            .organization(params.x_organization.clone());
        Pages::new(self.client, req)
    }

    /// Every user of `GET /api/users`, page after page (following `next`). Stops after the first
    /// error, which it yields.
    ///
    /// ```no_run
    /// # let client = cvat_sdk::ApiClient::new(cvat_sdk::Configuration::new("http://localhost:8080"))?;
    /// let active: Vec<_> = client
    ///     .users_api()
    ///     .users_list_all(cvat_sdk::UsersListParams { is_active: Some(true), ..Default::default() })
    ///     .collect::<Result<_, _>>()?;
    /// # let _: Vec<cvat_sdk::MetaUser> = active;
    /// # Ok::<(), cvat_sdk::Error>(())
    /// ```
    pub fn users_list_all(
        &self,
        params: UsersListParams,
    ) -> impl Iterator<Item = Result<MetaUser>> + 'a {
        Items {
            pages: self.users_list_pages(params),
            current: Vec::new().into_iter(),
        }
    }

    /// `GET /api/users/{id}`.
    #[doc(alias = "retrieve")]
    pub fn users_retrieve(&self, id: i64, org: &OrgContext) -> Result<MetaUser> {
        let req = Request::new(Method::GET, format!("/api/users/{id}"))
            .query(org.query())
            .organization(org.x_organization.clone());
        self.client.get_json(req)
    }

    /// `GET /api/users/self`: the authenticated user, always the full [`User`](crate::User).
    #[doc(alias = "retrieve_self")]
    pub fn users_retrieve_self(&self) -> Result<MetaUser> {
        self.client
            .get_json(Request::new(Method::GET, "/api/users/self"))
    }

    /// `PATCH /api/users/{id}`: changes the fields that are set in `patch`.
    #[doc(alias = "partial_update")]
    pub fn users_partial_update(&self, id: i64, patch: &PatchedUserRequest) -> Result<MetaUser> {
        self.client
            .get_json(Request::new(Method::PATCH, format!("/api/users/{id}")).json(patch))
    }

    /// `DELETE /api/users/{id}`.
    #[doc(alias = "destroy")]
    pub fn users_destroy(&self, id: i64) -> Result<()> {
        self.client
            .call(Request::new(Method::DELETE, format!("/api/users/{id}")))?;
        Ok(())
    }
}

/// The pages of a paginated list, following `next` links. Made by
/// [`UsersApi::users_list_pages`] and [`AuthApi::access_tokens_list_pages`](crate::AuthApi::access_tokens_list_pages).
pub struct Pages<'a, T> {
    client: &'a ApiClient,
    next: Option<Request>,
    x_organization: Option<String>,
    _item: PhantomData<fn() -> T>,
}

impl<'a, T> Pages<'a, T> {
    pub(crate) fn new(client: &'a ApiClient, first: Request) -> Self {
        let x_organization = first.x_organization.clone();
        Pages {
            client,
            next: Some(first),
            x_organization,
            _item: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Iterator for Pages<'_, T> {
    type Item = Result<Paginated<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        let req = self.next.take()?;
        match self.client.get_json::<Paginated<T>>(req) {
            Ok(page) => {
                self.next = page.next.as_ref().filter(|n| !n.is_empty()).map(|n| {
                    Request::new(Method::GET, n.clone()).organization(self.x_organization.clone())
                });
                Some(Ok(page))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

struct Items<'a, T> {
    pages: Pages<'a, T>,
    current: std::vec::IntoIter<T>,
}

impl<T: DeserializeOwned> Iterator for Items<'_, T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(Ok(item));
            }
            match self.pages.next()? {
                Ok(page) => self.current = page.results.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Administration (the `admin` privilege only; 403 otherwise).
impl UsersApi<'_> {
    /// `POST /api/users`: creates a user and returns its full representation. Validation
    /// errors come back as a 400 [`Error`](crate::Error) with the server's field errors.
    #[doc(alias = "create")]
    pub fn users_create(&self, request: &crate::models::UserCreateRequest) -> Result<crate::User> {
        self.client
            .get_json(Request::new(Method::POST, "/api/users").json(request))
    }

    /// `POST /api/users/{id}/password`: sets a user's password; the server revokes the user's
    /// sessions, API token and personal access tokens.
    #[doc(alias = "create_password")]
    pub fn users_create_password(
        &self,
        id: i64,
        request: &crate::models::PasswordSetRequest,
    ) -> Result<crate::Detail> {
        self.client
            .get_json(Request::new(Method::POST, format!("/api/users/{id}/password")).json(request))
    }

    /// `GET /api/users/{id}/access`: whether the account is blocked or its logins locked.
    #[doc(alias = "retrieve_access")]
    pub fn users_access(&self, id: i64) -> Result<crate::AccountAccess> {
        self.access_call(Method::GET, id, "access")
    }

    /// `POST /api/users/{id}/block`: no credential of the account authenticates until
    /// [`users_unblock`](Self::users_unblock); its data and memberships stay.
    #[doc(alias = "create_block")]
    pub fn users_block(&self, id: i64) -> Result<crate::AccountAccess> {
        self.access_call(Method::POST, id, "block")
    }

    /// `POST /api/users/{id}/unblock`.
    #[doc(alias = "create_unblock")]
    pub fn users_unblock(&self, id: i64) -> Result<crate::AccountAccess> {
        self.access_call(Method::POST, id, "unblock")
    }

    /// `DELETE /api/users/{id}/login-lock`: forgets the account's failed passwords and codes.
    #[doc(alias = "destroy_login_lock")]
    pub fn users_clear_login_lock(&self, id: i64) -> Result<crate::AccountAccess> {
        self.access_call(Method::DELETE, id, "login-lock")
    }

    /// `GET /api/users/{id}/sessions`: the user's sessions, login tokens and access tokens.
    #[doc(alias = "list_sessions")]
    pub fn users_sessions(&self, id: i64) -> Result<Vec<crate::Credential>> {
        self.client.get_json(Request::new(
            Method::GET,
            format!("/api/users/{id}/sessions"),
        ))
    }

    /// `DELETE /api/users/{id}/sessions/{sid}`: revokes one of them.
    #[doc(alias = "destroy_sessions")]
    pub fn users_sessions_revoke(&self, id: i64, sid: &str) -> Result<()> {
        let sid = crate::invitations::url_segment(sid);
        self.client.call(Request::new(
            Method::DELETE,
            format!("/api/users/{id}/sessions/{sid}"),
        ))?;
        Ok(())
    }

    /// `POST /api/users/{id}/sessions/revoke-all`: signs the user out everywhere.
    #[doc(alias = "create_sessions_revoke_all")]
    pub fn users_sessions_revoke_all(&self, id: i64) -> Result<crate::Detail> {
        self.client.get_json(Request::new(
            Method::POST,
            format!("/api/users/{id}/sessions/revoke-all"),
        ))
    }

    fn access_call(&self, method: Method, id: i64, what: &str) -> Result<crate::AccountAccess> {
        self.client
            .get_json(Request::new(method, format!("/api/users/{id}/{what}")))
    }
}
