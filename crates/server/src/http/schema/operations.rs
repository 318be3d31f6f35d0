//! The operations of each resource: method, path, CVAT's operation id, parameters, request
//! body model, answers and error answers. Paths must match the router's (`tests/api/schema.rs`).

use serde_json::json;

use super::document::{
    model, op, org_params, page_params, path_id, query, user_list_params, Access, Op,
    AUTHENTICATED, BODY, DETAIL,
};
use super::{OPENAPI_JSON, OPENAPI_YAML};

/// A resource's `{id}` operations, alike but for their names and texts.
struct Item {
    path: &'static str,
    /// What the `id` path parameter identifies.
    what: &'static str,
    /// The model of the answers.
    read: &'static str,
}

impl Item {
    fn retrieve(&self, id: &'static str, summary: &'static str) -> Op {
        op("get", self.path, id, summary)
            .params([path_id(self.what)])
            .ok(200, "", model(self.read))
            .errors(AUTHENTICATED)
            .errors(DETAIL)
    }

    fn partial_update(&self, id: &'static str, summary: &'static str, body: &str) -> Op {
        op("patch", self.path, id, summary)
            .params([path_id(self.what)])
            .json_body(body, false)
            .ok(200, "", model(self.read))
            .errors(AUTHENTICATED)
            .errors(DETAIL)
            .errors(BODY)
    }

    fn destroy(&self, id: &'static str, summary: &'static str, done: &str) -> Op {
        op("delete", self.path, id, summary)
            .params([path_id(self.what)])
            .empty(204, done)
            .errors(AUTHENTICATED)
            .errors(DETAIL)
    }
}

pub(super) fn users() -> Vec<Op> {
    let item = Item {
        path: "/api/users/{id}",
        what: "user",
        read: "MetaUser",
    };
    let meta_user = || model("MetaUser");
    vec![
        op("get", "/api/users", "users_list", "List users")
            .params(user_list_params())
            .ok(200, "", model("PaginatedMetaUserList"))
            .errors(AUTHENTICATED)
            .errors(&[404]),
        op(
            "post",
            "/api/users",
            "users_create",
            "Create a user (administrators only)",
        )
        .form_body("UserCreateRequest", true)
        .ok(201, "", model("User"))
        .errors(AUTHENTICATED)
        .errors(BODY),
        op(
            "get",
            "/api/users/self",
            "users_retrieve_self",
            "Get details of the current user",
        )
        .ok(200, "", meta_user())
        .errors(AUTHENTICATED),
        item.retrieve("users_retrieve", "Get user details"),
        op(
            "patch",
            "/api/users/{id}",
            "users_partial_update",
            "Update a user",
        )
        .params([path_id("user")])
        .form_body("PatchedUserRequest", false)
        .ok(200, "", meta_user())
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(BODY)
        .errors(&[409]),
        item.destroy(
            "users_destroy",
            "Delete a user",
            "The user has been deleted",
        )
        .errors(&[409]),
        op(
            "post",
            "/api/users/{id}/password",
            "users_create_password",
            "Set a user's password (administrators only); revokes the user's sessions and tokens",
        )
        .params([path_id("user")])
        .form_body("UserPasswordRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(BODY),
    ]
}

pub(super) fn auth() -> Vec<Op> {
    vec![
        op(
            "post",
            "/api/auth/login",
            "auth_create_login",
            "Log in: returns the REST token and starts a session",
        )
        .access(Access::Optional)
        .json_body("LoginSerializerExRequest", true)
        .ok(200, "", model("Token"))
        .errors(&[400, 401, 403, 406, 429])
        .errors(BODY),
        op(
            "post",
            "/api/auth/logout",
            "auth_create_logout",
            "Log out: deletes the user's token and session",
        )
        .access(Access::Optional)
        .ok(200, "", model("RestAuthDetail"))
        .errors(&[401, 403, 406, 429]),
        op(
            "post",
            "/api/auth/register",
            "auth_create_register",
            "Register a new user",
        )
        .access(Access::Optional)
        .json_body("RegisterSerializerExRequest", true)
        .ok(201, "", model("RegisterSerializerEx"))
        .errors(&[400, 401, 403, 406, 429])
        .errors(BODY),
        op(
            "post",
            "/api/auth/password/change",
            "auth_create_password_change",
            "Change the current user's password",
        )
        .json_body("PasswordChangeRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(AUTHENTICATED)
        .errors(BODY),
        op(
            "post",
            "/api/auth/password/reset",
            "auth_create_password_reset",
            "Mail a password reset link (the same answer whether or not the address has an account)",
        )
        .access(Access::Optional)
        .json_body("PasswordResetSerializerExRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(&[400, 401, 403, 406, 429])
        .errors(BODY),
        op(
            "post",
            "/api/auth/password/reset/confirm",
            "auth_create_password_reset_confirm",
            "Set a new password with the uid and token of a reset link",
        )
        .access(Access::Optional)
        .json_body("PasswordResetConfirmRequest", true)
        .ok(200, "", model("RestAuthDetail"))
        .errors(&[400, 401, 403, 406, 429])
        .errors(BODY),
        op(
            "post",
            "/api/auth/signing",
            "auth_create_signing",
            "Sign a URL for the current user",
        )
        .json_body("SigningRequest", true)
        .ok(200, "text URL", json!({"type": "string"}))
        .errors(AUTHENTICATED)
        .errors(BODY),
    ]
}

pub(super) fn access_tokens() -> Vec<Op> {
    let item = Item {
        path: "/api/auth/access_tokens/{id}",
        what: "access token",
        read: "AccessTokenRead",
    };
    let read = || model("AccessTokenRead");
    vec![
        op(
            "get",
            "/api/auth/access_tokens",
            "auth_list_access_tokens",
            "List the current user's access tokens",
        )
        .params(page_params())
        .ok(200, "", model("PaginatedAccessTokenReadList"))
        .errors(AUTHENTICATED)
        .errors(&[404]),
        op(
            "post",
            "/api/auth/access_tokens",
            "auth_create_access_tokens",
            "Create an access token (its value is shown only here)",
        )
        .json_body("AccessTokenWriteRequest", true)
        .ok(201, "", read())
        .errors(AUTHENTICATED)
        .errors(BODY),
        op(
            "get",
            "/api/auth/access_tokens/self",
            "auth_retrieve_access_tokens_self",
            "Get the access token of this request (404 for other credentials)",
        )
        .ok(200, "", read())
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        item.retrieve("auth_retrieve_access_tokens", "Get access token details"),
        item.partial_update(
            "auth_partial_update_access_tokens",
            "Update an access token",
            "PatchedAccessTokenWriteRequest",
        ),
        item.destroy(
            "auth_destroy_access_tokens",
            "Revoke an access token",
            "The token has been revoked",
        ),
    ]
}

pub(super) fn server() -> Vec<Op> {
    vec![
        op(
            "get",
            "/api/server/about",
            "server_retrieve_about",
            "Get basic CVAT information",
        )
        .access(Access::Anonymous)
        .ok(200, "", model("About"))
        .errors(&[406]),
        op(
            "get",
            "/api/server/health",
            "server_retrieve_health",
            "Check that the server and its database work",
        )
        .access(Access::Anonymous)
        .ok(200, "The server and its database work", model("Health"))
        .ok(503, "The database does not answer", model("Health"))
        .errors(&[406]),
    ]
}

pub(super) fn organizations() -> Vec<Op> {
    let item = Item {
        path: "/api/organizations/{id}",
        what: "organization",
        read: "OrganizationRead",
    };
    let read = || model("OrganizationRead");
    let mut list_params = org_params();
    list_params.push(query(
        "search",
        json!({"type": "string"}),
        "A search term. Available search_fields: ('name', 'owner')",
    ));
    vec![
        op(
            "get",
            "/api/organizations",
            "organizations_list",
            "List organizations (not paginated)",
        )
        .params(list_params)
        .ok(
            200,
            "",
            json!({"type": "array", "items": model("OrganizationRead")}),
        )
        .errors(AUTHENTICATED),
        op(
            "post",
            "/api/organizations",
            "organizations_create",
            "Create an organization",
        )
        .params(org_params())
        .json_body("OrganizationWriteRequest", true)
        .ok(201, "", read())
        .errors(AUTHENTICATED)
        .errors(BODY),
        item.retrieve("organizations_retrieve", "Get organization details"),
        item.partial_update(
            "organizations_partial_update",
            "Update an organization",
            "PatchedOrganizationWriteRequest",
        ),
        item.destroy(
            "organizations_destroy",
            "Delete an organization",
            "The organization has been deleted",
        ),
    ]
}

pub(super) fn memberships() -> Vec<Op> {
    let item = Item {
        path: "/api/memberships/{id}",
        what: "membership",
        read: "MembershipRead",
    };
    let mut list_params = org_params();
    list_params.extend(page_params());
    list_params.extend([
        query(
            "search",
            json!({"type": "string"}),
            "A search term (username, role)",
        ),
        query(
            "sort",
            json!({"type": "string"}),
            "user, user_name, role, id; - for descending",
        ),
        query(
            "filter",
            json!({"type": "string"}),
            "JSON-logic over user, user_name, role, id",
        ),
        query("user", json!({"type": "string"}), "The member's username"),
        query("role", json!({"type": "string"}), "The role"),
    ]);
    vec![
        op(
            "get",
            "/api/memberships",
            "memberships_list",
            "List memberships",
        )
        .params(list_params)
        .ok(200, "", model("PaginatedMembershipReadList"))
        .errors(AUTHENTICATED)
        .errors(&[404]),
        item.retrieve("memberships_retrieve", "Get membership details"),
        item.partial_update(
            "memberships_partial_update",
            "Change the role of a member",
            "PatchedMembershipWriteRequest",
        ),
        item.destroy(
            "memberships_destroy",
            "Delete a membership",
            "The membership has been deleted",
        ),
    ]
}

pub(super) fn invitations() -> Vec<Op> {
    let mut list_params = org_params();
    list_params.extend(page_params());
    list_params.extend(invitation_list_params());
    let key = || {
        json!({
            "name": "key", "in": "path", "required": true, "schema": {"type": "string"},
            "description": "A unique value identifying this invitation."
        })
    };
    let action = |verb: &'static str, id: &'static str, summary: &'static str| {
        op("post", verb, id, summary)
            .params([key()])
            .errors(AUTHENTICATED)
            .errors(DETAIL)
    };
    vec![
        op(
            "get",
            "/api/invitations",
            "invitations_list",
            "List invitations",
        )
        .params(list_params)
        .ok(200, "", model("PaginatedInvitationReadList"))
        .errors(AUTHENTICATED)
        .errors(&[404]),
        op(
            "post",
            "/api/invitations",
            "invitations_create",
            "Invite someone to the selected organization by e-mail address",
        )
        .params(org_params())
        .json_body("InvitationWriteRequest", true)
        .ok(201, "", model("InvitationRead"))
        .errors(AUTHENTICATED)
        .errors(BODY),
        op(
            "get",
            "/api/invitations/{key}",
            "invitations_retrieve",
            "Get invitation details",
        )
        .params([key()])
        .ok(200, "", model("InvitationRead"))
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        op(
            "patch",
            "/api/invitations/{key}",
            "invitations_partial_update",
            "CVAT 2.3.0: resend an invitation, or accept it with ?accepted",
        )
        .params([
            key(),
            query(
                "accepted",
                json!({"type": "string"}),
                "present (any value): accept the invitation",
            ),
        ])
        .json_body("PatchedInvitationWriteRequest", false)
        .ok(200, "", model("InvitationRead"))
        .errors(AUTHENTICATED)
        .errors(DETAIL)
        .errors(BODY),
        op(
            "delete",
            "/api/invitations/{key}",
            "invitations_destroy",
            "Delete an invitation (its membership stays)",
        )
        .params([key()])
        .empty(204, "The invitation has been deleted")
        .errors(AUTHENTICATED)
        .errors(DETAIL),
        action(
            "/api/invitations/{key}/accept",
            "invitations_accept",
            "Accept an invitation (the invitee)",
        )
        .ok(200, "", model("AcceptInvitationRead")),
        action(
            "/api/invitations/{key}/decline",
            "invitations_decline",
            "Decline an invitation (the invitee); removes the membership",
        )
        .empty(204, "The invitation has been declined"),
        action(
            "/api/invitations/{key}/resend",
            "invitations_resend",
            "Send the invitation mail again (5 per hour per user)",
        )
        .empty(204, "The invitation mail has been queued again"),
    ]
}

/// The newest CVAT's list parameters of invitations (spec §4.7).
fn invitation_list_params() -> Vec<serde_json::Value> {
    vec![
        query(
            "search",
            json!({"type": "string"}),
            "A search term (owner's username)",
        ),
        query(
            "sort",
            json!({"type": "string"}),
            "owner, user_id, accepted, created_date; - for descending",
        ),
        query(
            "filter",
            json!({"type": "string"}),
            "JSON-logic over owner, user_id, accepted",
        ),
        query("owner", json!({"type": "string"}), "The inviter's username"),
        query("user_id", json!({"type": "integer"}), "The invitee's id"),
        query("accepted", json!({"type": "boolean"}), "Accepted or not"),
    ]
}

pub(super) fn schema_ops() -> Vec<Op> {
    let document = json!({"schema": {"type": "object", "additionalProperties": {}}});
    vec![op(
        "get",
        "/api/schema/",
        "schema_retrieve",
        "This OpenAPI 3.0 document",
    )
    .access(Access::Anonymous)
    .params([query(
        "format",
        json!({"type": "string", "enum": ["json", "yaml"]}),
        "json (default) or yaml; without it, an Accept header that names YAML selects YAML",
    )])
    .answer(
        200,
        json!({
            "description": "",
            "content": {
                OPENAPI_JSON: document,
                "application/json": document,
                OPENAPI_YAML: document,
            }
        }),
    )]
}
