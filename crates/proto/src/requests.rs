//! What clients send: the request bodies the SDK builds and the OpenAPI document describes. The
//! server does not decode these types: it parses bodies its own, CVAT-compatible way (strict,
//! field by field, with Django's messages), so they only state the fields and their limits.
//!
//! `None` fields are left out of the JSON, so a request says only what it sets. Types that carry
//! a password print it as `***` in `Debug`.

use serde::{Deserialize, Serialize};

/// `POST /api/auth/login` body (`LoginSerializerExRequest`): a username or an e-mail, and the
/// password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(
    as = LoginSerializerExRequest, description = "",
    example = json!({"username": "admin", "password": "your-password"})
))]
pub struct LoginRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Email, nullable = false))]
    pub email: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
    /// The second factor in the same call, for users with TOTP: a current code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub code: Option<String>,
    /// Or an unused recovery code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub recovery_code: Option<String>,
}

impl LoginRequest {
    /// Login by username.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        LoginRequest {
            username: Some(username.into()),
            email: None,
            password: password.into(),
            code: None,
            recovery_code: None,
        }
    }

    /// Login by e-mail address.
    pub fn with_email(email: impl Into<String>, password: impl Into<String>) -> Self {
        LoginRequest {
            username: None,
            email: Some(email.into()),
            password: password.into(),
            code: None,
            recovery_code: None,
        }
    }
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password", &"***")
            .field("code", &self.code.as_ref().map(|_| "***"))
            .field("recovery_code", &self.recovery_code.as_ref().map(|_| "***"))
            .finish()
    }
}

/// `POST /api/auth/register` body (`RegisterSerializerExRequest`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(
    as = RegisterSerializerExRequest, description = "",
    example = json!({"username": "new_user", "email": "new_user@example.com",
        "password1": "Str0ng-Secret-42", "password2": "Str0ng-Secret-42",
        "first_name": "New", "last_name": "User"})
))]
pub struct RegisterRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 5, max_length = 150, pattern = r"^[\w.@+-]+$")
    )]
    pub username: String,
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254, required = false))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password1: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password2: String,
    // Omitted when `None` (the server refuses a blank name).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 150, nullable = false))]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 150, nullable = false))]
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
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(description = "")
)]
pub struct PasswordChangeRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub old_password: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub new_password1: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(
    description = "",
    example = json!({"username": "new_user", "email": "new_user@example.com",
        "password": "Str0ng-Secret-42", "first_name": "New", "last_name": "User", "groups": ["user"]})
))]
pub struct UserCreateRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 5, max_length = 150, pattern = r"^[\w.@+-]+$")
    )]
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254, nullable = false))]
    pub email: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 150, nullable = false))]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 150, nullable = false))]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::default_groups))]
    pub groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub is_staff: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub is_superuser: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, default = true))]
    pub is_active: Option<bool>,
    /// The user must choose another password at the first login (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub must_change_password: Option<bool>,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UserPasswordRequest, description = ""))]
pub struct PasswordSetRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password: String,
    /// The user must choose another password at the next login (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub must_change_password: Option<bool>,
}

impl std::fmt::Debug for PasswordSetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordSetRequest { *** }")
    }
}

/// `PATCH /api/users/{id}` body: only the fields that are set are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(
    description = "", example = json!({"first_name": "Jane", "last_name": "Doe"})
))]
pub struct PatchedUserRequest {
    /// Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 150,
            pattern = r"^[\w.@+-]+$",
            nullable = false
        )
    )]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 150, nullable = false))]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 150, nullable = false))]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Email, max_length = 254, nullable = false))]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::groups))]
    pub groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub is_staff: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub is_superuser: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub is_active: Option<bool>,
}

/// `POST /api/auth/password/reset` body (`PasswordResetSerializerExRequest`): where to send the link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(as = PasswordResetSerializerExRequest, description = "")
)]
pub struct PasswordResetRequest {
    #[cfg_attr(feature = "openapi", schema(format = "email", min_length = 1))]
    pub email: String,
}

/// `POST /api/auth/resend-email` body (dj-rest-auth's `ResendEmailVerification`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResendEmailVerificationRequest {
    #[cfg_attr(feature = "openapi", schema(format = "email", min_length = 1))]
    pub email: String,
}

/// `POST /api/auth/password/reset/confirm` body (`PasswordResetConfirmRequest`): the new
/// password twice, with the `uid` and `token` of the mailed link.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(description = "")
)]
pub struct PasswordResetConfirmRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub new_password1: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 128))]
    pub new_password2: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub uid: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub token: String,
}

impl std::fmt::Debug for PasswordResetConfirmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordResetConfirmRequest")
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}

/// `POST /api/auth/signing` body: the URL to sign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(
    description = "", example = json!({"url": "/api/users/self"})
))]
pub struct SigningRequest {
    /// An absolute URL, or a path starting with /
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(/|[A-Za-z][A-Za-z0-9+.-]*://)")
    )]
    pub url: String,
}

/// `AccessTokenWriteRequest`: `name` 1..50 (required on create), optional expiry and read-only
/// flag. A PATCH sends the same body (its model, `PatchedAccessTokenWriteRequest`, is this one
/// with nothing required).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(
    description = "", example = json!({"name": "my script", "read_only": true})
))]
pub struct AccessTokenWriteRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 50, nullable = false, required)
    )]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expiry_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub read_only: Option<bool>,
    /// On create, by an administrator: a SCIM provisioning token, which authenticates under
    /// `/scim/v2` only (and nothing else does there). Cannot be changed afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub scim: Option<bool>,
}

/// `POST /api/organizations` body (`OrganizationWriteRequest`); a PATCH sends the same body
/// (`PatchedOrganizationWriteRequest`: nothing required).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(
    description = "",
    example = json!({"slug": "acme", "name": "ACME", "description": "",
        "contact": {"email": "team@acme.example"}})
))]
pub struct OrganizationWriteRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 16,
            pattern = "^[-a-zA-Z0-9_]+$",
            nullable = false,
            required
        )
    )]
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 64, nullable = false))]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::free_object))]
    pub contact: Option<serde_json::Value>,
}

/// `PATCH /api/memberships/{id}` body: the member's new role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(description = "")
)]
pub struct PatchedMembershipWriteRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::role))]
    pub role: Option<String>,
}

/// `POST /api/invitations` body: who to add to the selected organization, and as what.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(
    description = "", example = json!({"role": "worker", "email": "new_user@example.com"})
))]
pub struct InvitationWriteRequest {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::role))]
    pub role: String,
    #[cfg_attr(feature = "openapi", schema(format = Email, min_length = 1, max_length = 254))]
    pub email: String,
}
