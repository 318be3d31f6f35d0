//! [`MfaApi`]: the TOTP second factor (`/api/auth/login/mfa`, `/api/auth/mfa/*`,
//! `/api/users/{id}/mfa`). Users without TOTP never need it; for those with it, a password login
//! answers 401 `mfa_required` with a ticket ([`Error::mfa_ticket`](crate::Error::mfa_ticket)),
//! which [`MfaApi::login_mfa`] completes with a code.
//!
//! ```no_run
//! use cvat_sdk::{ApiClient, Configuration, LoginRequest, MfaLoginRequest};
//!
//! let client = ApiClient::new(Configuration::new("http://localhost:8080"))?;
//! match client.auth_api().login(&LoginRequest::new("alice", "secret")) {
//!     Ok(_) => {}
//!     Err(e) => {
//!         let ticket = e.mfa_ticket().expect("another failure");
//!         client.mfa_api().login_mfa(&MfaLoginRequest {
//!             mfa_token: ticket,
//!             code: Some("123456".into()),
//!             recovery_code: None,
//!         })?;
//!     }
//! }
//! println!("{}", client.users_api().users_retrieve_self()?.username());
//! # Ok::<(), cvat_sdk::Error>(())
//! ```

use reqwest::Method;

use crate::client::{ApiClient, Request};
use crate::error::Result;
use crate::models::{
    Detail, MfaDisableRequest, MfaLogin, MfaLoginRequest, MfaStatus, OrganizationMfaPolicy,
    PatchedOrganizationMfaPolicyRequest, RecoveryCodes, RecoveryCodesRequest, TotpConfirmRequest,
    TotpConfirmed, TotpSetup, TotpSetupRequest,
};

#[derive(Debug, Clone, Copy)]
pub struct MfaApi<'a> {
    client: &'a ApiClient,
}

impl<'a> MfaApi<'a> {
    pub fn new(client: &'a ApiClient) -> Self {
        MfaApi { client }
    }

    /// `POST /api/auth/login/mfa`: login step two. Like a login, the client then holds the
    /// session cookies; the answer's `key` works as `Credentials::Token`.
    pub fn login_mfa(&self, request: &MfaLoginRequest) -> Result<MfaLogin> {
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/login/mfa").json(request))
    }

    /// `GET /api/auth/mfa`: the current user's factor.
    pub fn status(&self) -> Result<MfaStatus> {
        self.client
            .get_json(Request::new(Method::GET, "/api/auth/mfa"))
    }

    /// `POST /api/auth/mfa/totp/setup`: a pending secret, its `otpauth://` URI and QR code.
    pub fn totp_setup(&self, password: &str) -> Result<TotpSetup> {
        let body = TotpSetupRequest {
            password: password.into(),
        };
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/mfa/totp/setup").json(&body))
    }

    /// `POST /api/auth/mfa/totp/confirm`: enables the factor; the recovery codes (shown once)
    /// and a new token key. The user's other sessions and tokens are revoked.
    pub fn totp_confirm(&self, code: &str) -> Result<TotpConfirmed> {
        let body = TotpConfirmRequest { code: code.into() };
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/mfa/totp/confirm").json(&body))
    }

    /// `POST /api/auth/mfa/totp/disable`.
    pub fn totp_disable(&self, request: &MfaDisableRequest) -> Result<Detail> {
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/mfa/totp/disable").json(request))
    }

    /// `POST /api/auth/mfa/recovery-codes`: a new set; the old one stops working.
    pub fn recovery_codes(&self, request: &RecoveryCodesRequest) -> Result<RecoveryCodes> {
        self.client
            .get_json(Request::new(Method::POST, "/api/auth/mfa/recovery-codes").json(request))
    }

    /// `GET /api/users/{id}/mfa`: yourself, or anyone for administrators.
    pub fn user_status(&self, id: i64) -> Result<MfaStatus> {
        self.client
            .get_json(Request::new(Method::GET, format!("/api/users/{id}/mfa")))
    }

    /// `DELETE /api/users/{id}/mfa`: an administrator resets a user's factor.
    pub fn user_reset(&self, id: i64) -> Result<()> {
        self.client
            .call(Request::new(Method::DELETE, format!("/api/users/{id}/mfa")))
            .map(|_| ())
    }

    /// `GET /api/organizations/{id}/mfa-policy`: whether the organization requires TOTP of
    /// its members (members and administrators).
    pub fn organization_policy(&self, org_id: i64) -> Result<OrganizationMfaPolicy> {
        self.client.get_json(Request::new(
            Method::GET,
            format!("/api/organizations/{org_id}/mfa-policy"),
        ))
    }

    /// `PATCH /api/organizations/{id}/mfa-policy`: the owner or an administrator changes it.
    pub fn organization_policy_update(
        &self,
        org_id: i64,
        request: &PatchedOrganizationMfaPolicyRequest,
    ) -> Result<OrganizationMfaPolicy> {
        self.client.get_json(
            Request::new(
                Method::PATCH,
                format!("/api/organizations/{org_id}/mfa-policy"),
            )
            .json(request),
        )
    }
}
