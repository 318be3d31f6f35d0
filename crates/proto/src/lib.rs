//! The JSON the CVAT Users API sends and accepts, field for field and in CVAT's key order.
//! The server serializes these types and the SDK deserializes them, so they cannot drift apart.

use serde::{Deserialize, Serialize};

/// `UserSerializer`: the full, 12-field representation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub url: String,
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub groups: Vec<String>,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub is_active: bool,
    /// ISO 8601 with `Z`; `null` until the first login.
    pub last_login: Option<String>,
    pub date_joined: String,
}

/// `BasicUserSerializer`: the 5-field representation shown for other users to non-staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasicUser {
    pub url: String,
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
}

/// `MetaUser`: either representation (the full one is tried first when decoding).
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

/// A page of a list: `{"count", "next", "previous", "results"}` in that order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paginated<T> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

pub type PaginatedMetaUserList = Paginated<MetaUser>;

/// `GET /api/server/about`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct About {
    pub name: String,
    pub description: String,
    pub version: String,
    pub logo_url: String,
    pub subtitle: String,
}

/// `POST /api/auth/login` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub key: String,
}

/// `POST /api/auth/register` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub email_verification_required: bool,
    pub key: Option<String>,
}

/// `{"detail": "..."}` answers (logout, password change, errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    pub detail: String,
}

/// `PATCH /api/users/{id}` body: only the fields that are set are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatchedUserRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_staff: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_superuser: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
}

/// `OrganizationReadSerializer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub created_date: String,
    pub updated_date: String,
    pub contact: serde_json::Value,
    pub owner: Option<BasicUser>,
}

/// `MembershipReadSerializer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub id: i64,
    pub user: BasicUser,
    pub organization: i64,
    pub is_active: bool,
    pub joined_date: Option<String>,
    pub role: String,
    pub invitation: Option<String>,
}

/// `InvitationReadSerializer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invitation {
    pub key: String,
    pub created_date: String,
    pub owner: Option<BasicUser>,
    pub role: String,
    pub user: BasicUser,
    pub organization: i64,
}

/// `AccessTokenRead` (newest CVAT): `value` only in the answer to a create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessToken {
    pub id: i64,
    pub name: String,
    pub created_date: String,
    pub updated_date: String,
    pub expiry_date: Option<String>,
    pub last_used_date: Option<String>,
    pub read_only: bool,
    pub owner: BasicUser,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `AccessTokenWriteRequest`: `name` 1..50, optional expiry and read-only flag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenWriteRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}
