//! The request and answer bodies. The answers are the server's own wire types
//! (`cvat-proto`), so the SDK reads exactly what the server writes.

use serde::{Deserialize, Serialize};

pub use cvat_proto::{
    About, AccessToken, AccessTokenWriteRequest, BasicUser, Detail, MetaUser, Paginated,
    PaginatedMetaUserList, PatchedUserRequest, Registered, Token, User,
};

/// `POST /api/auth/login` body (`LoginSerializerExRequest`): a username or an e-mail, and the
/// password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub password: String,
}

impl LoginRequest {
    /// Login by username.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        LoginRequest {
            username: Some(username.into()),
            email: None,
            password: password.into(),
        }
    }

    /// Login by e-mail address.
    pub fn with_email(email: impl Into<String>, password: impl Into<String>) -> Self {
        LoginRequest {
            username: None,
            email: Some(email.into()),
            password: password.into(),
        }
    }
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password", &"***")
            .finish()
    }
}

/// `POST /api/auth/register` body (`RegisterSerializerExRequest`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    pub username: String,
    pub email: String,
    pub password1: String,
    pub password2: String,
    /// Omitted when `None` (the server refuses a blank name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
}

impl RegisterRequest {
    /// A registration with the password given twice and empty names.
    pub fn new(
        username: impl Into<String>,
        email: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        let password = password.into();
        RegisterRequest {
            username: username.into(),
            email: email.into(),
            password1: password.clone(),
            password2: password,
            ..Default::default()
        }
    }
}

impl std::fmt::Debug for RegisterRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterRequest")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .finish_non_exhaustive()
    }
}

/// `POST /api/auth/password/change` body (`PasswordChangeRequest`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChangeRequest {
    pub old_password: String,
    pub new_password1: String,
    pub new_password2: String,
}

impl PasswordChangeRequest {
    /// A change with the new password given twice.
    pub fn new(old_password: impl Into<String>, new_password: impl Into<String>) -> Self {
        let new = new_password.into();
        PasswordChangeRequest {
            old_password: old_password.into(),
            new_password1: new.clone(),
            new_password2: new,
        }
    }
}

impl std::fmt::Debug for PasswordChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChangeRequest { *** }")
    }
}

/// `POST /api/users` body (administrators): the new account. `email`, the names, `groups`
/// (default `["user"]`) and the flags (default: not staff, not superuser, active) are optional.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCreateRequest {
    pub username: String,
    pub password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_staff: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_superuser: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
}

impl std::fmt::Debug for UserCreateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCreateRequest")
            .field("username", &self.username)
            .field("password", &"***")
            .field("email", &self.email)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

/// `POST /api/users/{id}/password` body (administrators): the user's new password.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordSetRequest {
    pub password: String,
}

impl std::fmt::Debug for PasswordSetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordSetRequest { *** }")
    }
}
