//! [`InvitationsApi`]: `/api/invitations` of both CVAT generations (list, create, retrieve,
//! the newest release's accept / decline / resend, and 2.3.0's `PATCH` and `DELETE`).
//!
//! ```no_run
//! use cvat_sdk::{ApiClient, Configuration, Credentials, InvitationWriteRequest, OrgContext};
//!
//! let owner = ApiClient::new(
//!     Configuration::new("http://localhost:8080").with_credentials(Credentials::basic("alice", "secret")),
//! )?;
//! let in_team = OrgContext { org: Some("team".into()), ..Default::default() };
//! let request = InvitationWriteRequest { role: "worker".into(), email: "bob@example.com".into() };
//! let invitation = owner.invitations_api().invitations_create(&request, &in_team)?;
//!
//! // Bob, with the key from the mail (or from his own list of invitations):
//! let bob = ApiClient::new(
//!     Configuration::new("http://localhost:8080").with_credentials(Credentials::basic("bob", "secret")),
//! )?;
//! let joined = bob.invitations_api().invitations_accept(&invitation.key)?;
//! println!("bob joined {}", joined.organization_slug);
//! # Ok::<(), cvat_sdk::Error>(())
//! ```

use reqwest::Method;

use crate::auth::PageParams;
use crate::client::{ApiClient, Request};
use crate::error::Result;
use crate::models::{AcceptInvitation, Invitation, InvitationWriteRequest, Paginated};
use crate::users::{OrgContext, Pages};

/// The parameters of [`InvitationsApi::invitations_list`]; every one is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvitationsListParams {
    pub paging: PageParams,
    /// Words searched in the invitee's username, e-mail and the inviter's username.
    pub search: Option<String>,
    /// A JSON-logic filter (vars such as `role`, `accepted`, `user_id`).
    pub filter: Option<String>,
    /// Comma-separated fields, `-` for descending (e.g. `-created_date`).
    pub sort: Option<String>,
    /// The organization whose invitations to list (`org`, `org_id`, `X-Organization`); without
    /// one, the invitations sent to or by you everywhere.
    pub org: OrgContext,
}

impl InvitationsListParams {
    fn request(&self) -> Request {
        let mut q = self.paging.query();
        for (k, v) in [
            ("search", &self.search),
            ("filter", &self.filter),
            ("sort", &self.sort),
        ] {
            if let Some(v) = v {
                q.push((k.into(), v.clone()));
            }
        }
        q.extend(self.org.query());
        Request::new(Method::GET, "/api/invitations")
            .query(q)
            .organization(self.org.x_organization.clone())
    }
}

/// The invitation endpoints, like the Python SDK's `cvat_sdk.api.invitations_api.InvitationsApi`.
#[derive(Debug, Clone, Copy)]
pub struct InvitationsApi<'a> {
    client: &'a ApiClient,
}

impl<'a> InvitationsApi<'a> {
    /// The invitation endpoints of `client`.
    pub fn new(client: &'a ApiClient) -> Self {
        InvitationsApi { client }
    }

    fn keyed(method: Method, key: &str, action: &str) -> Request {
        let key = url_segment(key);
        Request::new(method, format!("/api/invitations/{key}{action}"))
    }

    /// `GET /api/invitations`: one page.
    #[doc(alias = "list")]
    pub fn invitations_list(
        &self,
        params: &InvitationsListParams,
    ) -> Result<Paginated<Invitation>> {
        self.client.get_json(params.request())
    }

    /// Every page of [`InvitationsApi::invitations_list`], following `next`.
    pub fn invitations_list_pages(&self, params: &InvitationsListParams) -> Pages<'a, Invitation> {
        Pages::new(self.client, params.request())
    }

    /// `POST /api/invitations` in `org`'s context (required): invites an address with a role.
    /// Whether the invitee joins at once or is mailed and must accept follows the server's
    /// `--org-invitation-confirm` and whether the address has an account.
    #[doc(alias = "create")]
    pub fn invitations_create(
        &self,
        request: &InvitationWriteRequest,
        org: &OrgContext,
    ) -> Result<Invitation> {
        let req = Request::new(Method::POST, "/api/invitations")
            .query(org.query())
            .organization(org.x_organization.clone())
            .json(request);
        self.client.get_json(req)
    }

    /// `GET /api/invitations/{key}`.
    #[doc(alias = "retrieve")]
    pub fn invitations_retrieve(&self, key: &str) -> Result<Invitation> {
        self.client.get_json(Self::keyed(Method::GET, key, ""))
    }

    /// `POST /api/invitations/{key}/accept` (the invitee): joins the organization, whose slug
    /// the answer names.
    #[doc(alias = "accept")]
    pub fn invitations_accept(&self, key: &str) -> Result<AcceptInvitation> {
        self.client
            .get_json(Self::keyed(Method::POST, key, "/accept").empty_json())
    }

    /// `POST /api/invitations/{key}/decline` (the invitee): the invitation and the pending
    /// membership are removed.
    #[doc(alias = "decline")]
    pub fn invitations_decline(&self, key: &str) -> Result<()> {
        self.client
            .call(Self::keyed(Method::POST, key, "/decline").empty_json())
            .map(|_| ())
    }

    /// `POST /api/invitations/{key}/resend` (the inviter or the organization's owner and
    /// maintainers): mails the invitation again and restarts its expiry.
    #[doc(alias = "resend")]
    pub fn invitations_resend(&self, key: &str) -> Result<()> {
        self.client
            .call(Self::keyed(Method::POST, key, "/resend").empty_json())
            .map(|_| ())
    }

    /// `PATCH /api/invitations/{key}` as cvat-sdk 2.3.0 sends it: resends the invitation, or
    /// with `accepted` accepts it for the invitee.
    #[doc(alias = "partial_update")]
    pub fn invitations_partial_update(&self, key: &str, accepted: bool) -> Result<Invitation> {
        let mut req = Self::keyed(Method::PATCH, key, "").json(&serde_json::json!({}));
        if accepted {
            req = req.query(vec![("accepted".into(), "true".into())]);
        }
        self.client.get_json(req)
    }

    /// `DELETE /api/invitations/{key}`: withdraws it (and the pending membership).
    #[doc(alias = "destroy")]
    pub fn invitations_destroy(&self, key: &str) -> Result<()> {
        self.client
            .call(Self::keyed(Method::DELETE, key, ""))
            .map(|_| ())
    }
}

/// Keys and ids as one path segment: anything but unreserved characters percent-encoded.
pub(crate) fn url_segment(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_one_path_segment() {
        assert_eq!(url_segment("aB3-_"), "aB3-_");
        assert_eq!(url_segment("../x y"), "..%2Fx%20y");
    }

    #[test]
    fn list_parameters_become_the_query_and_header() {
        let params = InvitationsListParams {
            search: Some("bob".into()),
            sort: Some("-created_date".into()),
            org: OrgContext {
                org: Some("team".into()),
                x_organization: Some("team".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let req = params.request();
        assert_eq!(
            req.query,
            vec![
                ("search".to_string(), "bob".to_string()),
                ("sort".to_string(), "-created_date".to_string()),
                ("org".to_string(), "team".to_string()),
            ]
        );
        assert_eq!(req.x_organization.as_deref(), Some("team"));
    }
}
