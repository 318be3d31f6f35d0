//! The OpenAPI models of the wire types (feature `openapi`): most are derived on the types
//! themselves; this module holds the field schemas a derive cannot state (role enum, free-form
//! objects, group lists), the two composed models (`MetaUser`, `Paginated<Item>List`), and
//! `models()`, the list the server's document is built from.

use std::borrow::Cow;

use serde_json::json;
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, Array, ArrayBuilder, Object, ObjectBuilder, Ref, Schema,
    SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::*;

/// Every model the document names, as `(component name, schema)`, in the document's order.
pub fn models() -> Vec<(String, RefOr<Schema>)> {
    fn model<T: ToSchema>() -> (String, RefOr<Schema>) {
        (T::name().into_owned(), T::schema())
    }
    vec![
        model::<User>(),
        model::<BasicUser>(),
        model::<MetaUser>(),
        model::<PaginatedMetaUserList>(),
        model::<PatchedUserRequest>(),
        model::<UserCreateRequest>(),
        model::<PasswordSetRequest>(),
        model::<About>(),
        model::<AdvancedAuthentication>(),
        model::<PasswordMethod>(),
        model::<MfaMethods>(),
        model::<LdapMethod>(),
        model::<SsoMethods>(),
        model::<SsoProvider>(),
        model::<AccountAccess>(),
        model::<Credential>(),
        model::<OrganizationMfaPolicy>(),
        model::<PatchedOrganizationMfaPolicyRequest>(),
        model::<Health>(),
        model::<Token>(),
        model::<LoginRequest>(),
        model::<RegisterRequest>(),
        model::<Registered>(),
        model::<PasswordChangeRequest>(),
        model::<Detail>(),
        model::<PasswordResetRequest>(),
        model::<ResendEmailVerificationRequest>(),
        model::<PasswordResetConfirmRequest>(),
        model::<SigningRequest>(),
        model::<AccessToken>(),
        model::<Paginated<AccessToken>>(),
        model::<AccessTokenWriteRequest>(),
        patched::<AccessTokenWriteRequest>(),
        model::<Organization>(),
        model::<OrganizationWriteRequest>(),
        patched::<OrganizationWriteRequest>(),
        model::<Membership>(),
        model::<Paginated<Membership>>(),
        model::<PatchedMembershipWriteRequest>(),
        model::<Invitation>(),
        model::<OrganizationInfo>(),
        model::<AcceptInvitation>(),
        model::<Paginated<Invitation>>(),
        model::<InvitationWriteRequest>(),
        patched::<InvitationWriteRequest>(),
        model::<MfaLoginRequest>(),
        model::<MfaLogin>(),
        model::<MfaRequired>(),
        model::<CodedError>(),
        model::<TotpStatus>(),
        model::<RecoveryCodesStatus>(),
        model::<MfaStatus>(),
        model::<TotpSetupRequest>(),
        model::<TotpSetup>(),
        model::<TotpConfirmRequest>(),
        model::<TotpConfirmed>(),
        model::<MfaDisableRequest>(),
        model::<RecoveryCodesRequest>(),
        model::<RecoveryCodes>(),
        model::<AuditEvent>(),
        model::<AuditEventPage>(),
    ]
}

/// `Patched<Name>`: the model of a PATCH that sends a create's body, where nothing is required
/// (as drf-spectacular derives it).
fn patched<T: ToSchema>() -> (String, RefOr<Schema>) {
    let mut schema = T::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.required.clear();
        object.example = None;
    }
    (format!("Patched{}", T::name()), schema)
}

fn model_ref(name: Cow<'_, str>) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

impl PartialSchema for MetaUser {
    /// Either representation; `anyOf`, since a full user also matches the basic model.
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(model_ref(BasicUser::name()))
            .item(model_ref(User::name()))
            .into()
    }
}

impl ToSchema for MetaUser {}

impl<T: ToSchema> PartialSchema for Paginated<T> {
    // The served document is OpenAPI 3.0, whose `example` 3.1 deprecates.
    #[allow(deprecated)]
    fn schema() -> RefOr<Schema> {
        let page_link = |example: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                .format(Some(utoipa::openapi::SchemaFormat::Custom("uri".into())))
                .example(Some(json!(example)))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .required("count")
            .required("next")
            .required("previous")
            .required("results")
            .property(
                "count",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .example(Some(json!(123))),
            )
            .property("next", page_link("http://api.example.org/accounts/?page=4"))
            .property(
                "previous",
                page_link("http://api.example.org/accounts/?page=2"),
            )
            .property("results", ArrayBuilder::new().items(model_ref(T::name())))
            .into()
    }
}

impl<T: ToSchema> ToSchema for Paginated<T> {
    fn name() -> Cow<'static, str> {
        format!("Paginated{}List", T::name()).into()
    }
}

/// A membership role.
pub fn role() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["worker", "supervisor", "maintainer", "owner"]))
        .build()
}

/// `User.created_via`: one of the newest CVAT's five values, or null.
pub fn created_via() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some([
            Some("registration"),
            Some("social"),
            Some("sso"),
            Some("ldap"),
            Some("invitation"),
            None,
        ]))
        .read_only(true)
        .build()
}

/// A JSON object with any members (an organization's `contact`).
pub fn free_object() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(SchemaType::AnyValue)
                .build(),
        )))))
        .build()
}

/// Group names, none empty.
pub fn groups() -> Array {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1)),
        )
        .build()
}

/// Group names on create, with their default.
pub fn default_groups() -> Array {
    let mut array = groups();
    array.description = Some(
        "Default: [\"user\"], [\"admin\"] for a staff superuser, who always gets \"admin\".".into(),
    );
    array
}
