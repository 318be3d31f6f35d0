//! The request and answer bodies: the server's own wire types (`cvat-proto`), so the SDK reads
//! exactly what the server writes and sends the fields the server's OpenAPI document describes.

pub use cvat_proto::{
    About, AcceptInvitation, AccessToken, AccessTokenWriteRequest, AccountAccess,
    AdvancedAuthentication, BasicUser, Credential, Detail, Invitation, InvitationWriteRequest,
    LoginRequest, MetaUser, OrganizationInfo, OrganizationWriteRequest, Paginated,
    PaginatedMetaUserList, PasswordChangeRequest, PasswordResetConfirmRequest,
    PasswordResetRequest, PasswordSetRequest, PatchedMembershipWriteRequest, PatchedUserRequest,
    RegisterRequest, Registered, SigningRequest, Token, User, UserCreateRequest, USER_KEYS,
};
pub use cvat_proto::{AuditEvent, AuditEventPage};
pub use cvat_proto::{
    MfaDisableRequest, MfaLogin, MfaLoginRequest, MfaStatus, OrganizationMfaPolicy,
    PatchedOrganizationMfaPolicyRequest, RecoveryCodes, RecoveryCodesRequest, RecoveryCodesStatus,
    TotpConfirmRequest, TotpConfirmed, TotpSetup, TotpSetupRequest, TotpStatus,
};
