//! What the server answers. With the `openapi` feature each type also derives its OpenAPI model
//! (CVAT's component name in `as = ...`); field doc comments become the model's descriptions.

use serde::{Deserialize, Serialize};

/// The full representation: for staff, and for anyone looking at himself.
// `UserSerializer`: its 12 fields, then the newest `created_via` and `email_verified`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    #[cfg_attr(feature = "openapi", schema(format = "uri", read_only))]
    pub url: String,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(max_length = 150))]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 150))]
    pub first_name: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 150))]
    pub last_name: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    pub groups: Vec<String>,
    /// Designates whether the user can log into this admin site.
    pub is_staff: bool,
    /// Designates that this user has all permissions without explicitly assigning them.
    pub is_superuser: bool,
    /// Designates whether this user should be treated as active.
    pub is_active: bool,
    // ISO 8601 with `Z`; `null` until the first login.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, read_only, required))]
    pub last_login: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, read_only))]
    pub date_joined: String,
    /// How the account's credentials were first established (newest CVAT): `registration`,
    /// `invitation`, ...; `null` when not recorded (accounts made by administrators).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(read_only, required, schema_with = crate::openapi::created_via)
    )]
    pub created_via: Option<String>,
    /// Whether the address is confirmed (newest CVAT): `null` when never asked (verification
    /// off, or an account made by an administrator), `false` while a confirmation is pending.
    /// Administrators may set it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(read_only, required))]
    pub email_verified: Option<bool>,
}

/// The keys of [`User`] as sent, in order; the writable ones are `USER_KEYS[2..10]`. Kept for
/// clients that name fields (the CLI's columns, the test kit's shape checks); a proto test
/// holds it equal to what `User` serializes to.
pub const USER_KEYS: [&str; 14] = [
    "url",
    "id",
    "username",
    "first_name",
    "last_name",
    "email",
    "groups",
    "is_staff",
    "is_superuser",
    "is_active",
    "last_login",
    "date_joined",
    "created_via",
    "email_verified",
];

/// What non-staff users see of other users.
// `BasicUserSerializer`, 5 fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BasicUser {
    #[cfg_attr(feature = "openapi", schema(format = "uri", read_only))]
    pub url: String,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(max_length = 150))]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 150))]
    pub first_name: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 150))]
    pub last_name: String,
}

/// `MetaUser`: either representation (the full one is tried first when decoding). Its OpenAPI
/// model is `anyOf` (a full user also matches the basic model), written in `openapi.rs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetaUser {
    Full(User),
    Basic(BasicUser),
}

impl MetaUser {
    pub fn id(&self) -> i64 {
        match self {
            MetaUser::Full(u) => u.id,
            MetaUser::Basic(u) => u.id,
        }
    }
    pub fn username(&self) -> &str {
        match self {
            MetaUser::Full(u) => &u.username,
            MetaUser::Basic(u) => &u.username,
        }
    }
}

/// A page of a list: `{"count", "next", "previous", "results"}` in that order. Its OpenAPI
/// models (`Paginated<Item>List`) are written in `openapi.rs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paginated<T> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

pub type PaginatedMetaUserList = Paginated<MetaUser>;

// `GET /api/server/about`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct About {
    #[cfg_attr(feature = "openapi", schema(max_length = 128))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 2048))]
    pub description: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub version: String,
    pub logo_url: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub subtitle: String,
}

// `GET /api/server/advanced-auth` (CVAT 2.3.0): which social logins are on. Always booleans
// (CVAT 2.3.0 could leak a client secret here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[allow(non_snake_case)]
pub struct AdvancedAuthentication {
    pub GOOGLE_ACCOUNT_AUTHENTICATION: bool,
    pub GITHUB_ACCOUNT_AUTHENTICATION: bool,
    /// Password logins, and whether anyone may register.
    pub password: PasswordMethod,
    /// The second factors users may add.
    pub mfa: MfaMethods,
    /// Directory logins through the password routes (sso-and-mfa §4.11).
    pub ldap: LdapMethod,
    /// Single sign-on providers (OpenID Connect).
    #[serde(default)]
    pub sso: SsoMethods,
}

/// `advanced-auth.ldap`: whether directory users log in with their directory password (by
/// username, and by e-mail address when `email_login`), through `/api/auth/login` and Basic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LdapMethod {
    pub enabled: bool,
    pub email_login: bool,
}

/// `advanced-auth.sso` (sso-and-mfa §4.11): the enabled providers, no secrets or URLs but
/// each one's `login_url`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoMethods {
    pub enabled: bool,
    pub providers: Vec<SsoProvider>,
}

/// One provider of `advanced-auth.sso`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SsoProvider {
    pub id: String,
    pub name: String,
    /// `OIDC`.
    pub protocol: String,
    /// `/api/auth/oidc/<id>/login`.
    pub login_url: String,
}

/// `advanced-auth.password`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordMethod {
    pub enabled: bool,
    /// `false` when self-registration is off (`--registration-disabled`).
    pub registration: bool,
    /// The domains whose addresses may register (`[]`: any).
    pub registration_domains: Vec<String>,
    /// The shortest password accepted.
    pub min_length: u16,
}

/// `advanced-auth.mfa`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MfaMethods {
    pub enabled: bool,
    /// `totp`, `recovery_code`.
    pub methods: Vec<String>,
    /// Who must enrol: `none`, `admins` or `all` (`--mfa-enforce`).
    pub enforce: String,
    /// Basic credentials of enrolled users pass with a current code in this header (`null`
    /// when `--mfa-basic-otp-header=false`).
    pub otp_header: Option<String>,
}

// `GET /api/users/{id}/access` and the answers of `block`, `unblock` and `DELETE login-lock`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountAccess {
    /// No credential of a blocked account authenticates.
    pub blocked: bool,
    /// When the account was blocked.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, required))]
    pub blocked_date: Option<String>,
    /// Password logins are locked after repeated failures.
    pub login_locked: bool,
    /// Seconds until they unlock, while locked.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub login_retry_after: Option<u64>,
    /// Every request but a password change is refused until the user sets a new password.
    pub must_change_password: bool,
}

// One item of `GET /api/auth/sessions` and `GET /api/users/{id}/sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credential {
    /// `session:<16 hex>`, `token:<16 hex>` or `access_token:<id>`; what revoking takes.
    pub id: String,
    /// `session`, `token` (a login's API key) or `access_token`.
    pub kind: String,
    /// An access token's name.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, required))]
    pub created_date: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, required))]
    pub expiry_date: Option<String>,
    /// Known for access tokens; sessions and login tokens are not written to on use.
    #[cfg_attr(feature = "openapi", schema(format = DateTime, required))]
    pub last_used_date: Option<String>,
    /// The client address and user agent of the request that made it.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub client_address: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub user_agent: Option<String>,
    /// The credential of this very request.
    pub current: bool,
}

// `GET /api/server/health`: `ok`, or why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub status: String,
}

// `POST /api/auth/login` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Token {
    #[cfg_attr(feature = "openapi", schema(max_length = 40))]
    pub key: String,
    /// While a second-factor policy's grace period runs for a user without TOTP: when it ends
    /// (sso-and-mfa §4.3 step 8). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime, nullable = false))]
    pub mfa_enrollment_deadline: Option<String>,
}

// `POST /api/auth/register` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RegisterSerializerEx))]
pub struct Registered {
    #[cfg_attr(feature = "openapi", schema(max_length = 150))]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 150))]
    pub first_name: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 150))]
    pub last_name: String,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub email_verification_required: bool,
    #[cfg_attr(feature = "openapi", schema(read_only, required))]
    pub key: Option<String>,
}

// `{"detail": "..."}` answers (logout, password change, errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RestAuthDetail))]
pub struct Detail {
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub detail: String,
}

// `OrganizationReadSerializer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OrganizationRead))]
pub struct Organization {
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub id: i64,
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 16, pattern = "^[-a-zA-Z0-9_]+$")
    )]
    pub slug: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub name: String,
    pub description: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, read_only))]
    pub created_date: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, read_only))]
    pub updated_date: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::free_object))]
    pub contact: serde_json::Value,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub owner: Option<BasicUser>,
}

// `MembershipReadSerializer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = MembershipRead))]
pub struct Membership {
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub id: i64,
    pub user: BasicUser,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub organization: i64,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub is_active: bool,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, read_only, required))]
    pub joined_date: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::role))]
    pub role: String,
    #[cfg_attr(feature = "openapi", schema(read_only, required))]
    pub invitation: Option<String>,
}

// `InvitationReadSerializer` (newest CVAT: plus `expired`, `accepted`, `organization_info`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = InvitationRead))]
pub struct Invitation {
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub key: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, read_only))]
    pub created_date: String,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub owner: Option<BasicUser>,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::role))]
    pub role: String,
    pub user: BasicUser,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub organization: i64,
    /// `null` while no mail was sent (accepted at creation); else whether the last mail is
    /// older than the expiry.
    #[cfg_attr(feature = "openapi", schema(read_only, required))]
    pub expired: Option<bool>,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub accepted: bool,
    pub organization_info: OrganizationInfo,
}

/// The organization an invitation is to, as the newest CVAT nests it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = BasicOrganization))]
pub struct OrganizationInfo {
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub slug: String,
}

/// The answer to create and `PATCH` for cvat-sdk 2.3.0 only (a project decision, spec §4.2):
/// that client parses those answers as `InvitationWrite` (`role` and `email` required, `owner`
/// an id), so it gets the [`Invitation`] fields with `email` added and `owner` as the inviter's
/// id. Not in the OpenAPI document, which describes the newest clients' shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationForSdk23 {
    pub key: String,
    pub created_date: String,
    /// Left out when the inviter was deleted: that model's `owner` is a non-null id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<i64>,
    pub role: String,
    pub user: BasicUser,
    pub organization: i64,
    pub expired: Option<bool>,
    pub accepted: bool,
    pub organization_info: OrganizationInfo,
    pub email: String,
}

// `POST /api/invitations/{key}/accept` answer (newest CVAT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AcceptInvitationRead))]
pub struct AcceptInvitation {
    pub organization_slug: String,
}

// `AccessTokenRead` (newest CVAT): `value` only in the answer to a create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AccessTokenRead))]
pub struct AccessToken {
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(max_length = 50))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, read_only))]
    pub created_date: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, read_only))]
    pub updated_date: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, required))]
    pub expiry_date: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime, read_only, required))]
    pub last_used_date: Option<String>,
    pub read_only: bool,
    pub owner: BasicUser,
    /// A SCIM provisioning token (issue 17): it authenticates under `/scim/v2` only. Present
    /// (and `true`) for those tokens alone, so other tokens read as CVAT's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub scim: bool,
    /// The token itself: only in the answer to a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(read_only, nullable = false))]
    pub value: Option<String>,
}
