//! The wire types against their OpenAPI models (feature `openapi`) and the request bodies as the
//! SDK sends them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

use cvat_proto::*;
use serde_json::json;

#[test]
fn requests_send_only_the_fields_that_are_set() {
    assert_eq!(json!(PatchedUserRequest::default()), json!({}));
    assert_eq!(
        json!(LoginRequest::with_email("a@example.com", "pw")),
        json!({"email": "a@example.com", "password": "pw"})
    );
    let register = json!(RegisterRequest::new("alice", "a@example.com", "pw"));
    assert_eq!(register["password1"], register["password2"]);
    assert!(register.get("first_name").is_none());
}

#[test]
fn requests_with_passwords_never_print_them() {
    let printed = format!(
        "{:?} {:?} {:?} {:?} {:?}",
        LoginRequest::new("alice", "s3cret-pw"),
        RegisterRequest::new("alice", "a@example.com", "s3cret-pw"),
        PasswordChangeRequest::new("s3cret-pw", "s3cret-pw"),
        PasswordSetRequest {
            password: "s3cret-pw".into(),
            must_change_password: None,
        },
        UserCreateRequest {
            password: "s3cret-pw".into(),
            ..Default::default()
        },
    );
    assert!(!printed.contains("s3cret-pw"), "{printed}");
}

#[test]
fn the_user_key_list_is_what_a_user_serializes_to() {
    let user = User {
        url: String::new(),
        id: 1,
        username: String::new(),
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        groups: vec![],
        is_staff: false,
        is_superuser: false,
        is_active: true,
        last_login: None,
        date_joined: String::new(),
        created_via: None,
        email_verified: None,
    };
    let sent = json!(user);
    let keys: Vec<&str> = sent
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, USER_KEYS);
}

#[cfg(feature = "openapi")]
mod models {
    use super::*;
    use serde_json::Value;

    fn basic_user() -> BasicUser {
        BasicUser {
            url: "http://localhost/api/users/1".into(),
            id: 1,
            username: "alice".into(),
            first_name: "Alice".into(),
            last_name: "Smith".into(),
        }
    }

    fn model(name: &str) -> Value {
        let (_, schema) = cvat_proto::openapi::models()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no model {name}"));
        serde_json::to_value(schema).unwrap()
    }

    /// The answer's keys are the model's properties, and every required one is sent.
    fn assert_matches(name: &str, answer: Value) {
        let model = model(name);
        let keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
        let properties: Vec<&String> = model["properties"].as_object().unwrap().keys().collect();
        for key in &keys {
            assert!(
                properties.contains(key),
                "{name}: {key} sent but not in the model"
            );
        }
        for required in model["required"].as_array().unwrap() {
            let required = required.as_str().unwrap().to_string();
            assert!(
                keys.contains(&&required),
                "{name}: {required} required but not sent"
            );
        }
    }

    #[test]
    fn every_answer_sends_exactly_its_models_fields() {
        assert_matches("BasicUser", json!(basic_user()));
        assert_matches(
            "User",
            json!(User {
                url: "http://localhost/api/users/1".into(),
                id: 1,
                username: "alice".into(),
                first_name: String::new(),
                last_name: String::new(),
                email: String::new(),
                groups: vec!["user".into()],
                is_staff: false,
                is_superuser: false,
                is_active: true,
                last_login: None,
                date_joined: "2026-01-01T00:00:00Z".into(),
                created_via: Some("registration".into()),
                email_verified: None,
            }),
        );
        assert_matches(
            "AccessTokenRead",
            json!(AccessToken {
                id: 1,
                name: "script".into(),
                created_date: "2026-01-01T00:00:00Z".into(),
                updated_date: "2026-01-01T00:00:00Z".into(),
                expiry_date: None,
                last_used_date: None,
                read_only: true,
                scim: false,
                owner: basic_user(),
                value: Some("secret".into()),
            }),
        );
        assert_matches(
            "InvitationRead",
            json!(Invitation {
                key: "k".into(),
                created_date: "2026-01-01T00:00:00Z".into(),
                owner: None,
                role: "worker".into(),
                user: basic_user(),
                organization: 1,
                expired: None,
                accepted: true,
                organization_info: OrganizationInfo {
                    id: 1,
                    slug: "org".into(),
                },
            }),
        );
        assert_matches(
            "PaginatedMetaUserList",
            json!(PaginatedMetaUserList {
                count: 1,
                next: None,
                previous: None,
                results: vec![MetaUser::Basic(basic_user())],
            }),
        );
    }

    #[test]
    fn patched_models_are_their_create_models_with_nothing_required() {
        for name in ["AccessTokenWriteRequest", "OrganizationWriteRequest"] {
            let create = model(name);
            let patched = model(&format!("Patched{name}"));
            assert!(!create["required"].as_array().unwrap().is_empty(), "{name}");
            assert!(patched.get("required").is_none(), "Patched{name}");
            assert_eq!(create["properties"], patched["properties"], "{name}");
        }
    }

    #[test]
    fn a_user_seen_by_anyone_matches_either_representation() {
        let meta = model("MetaUser");
        assert_eq!(
            meta,
            json!({"anyOf": [
                {"$ref": "#/components/schemas/BasicUser"},
                {"$ref": "#/components/schemas/User"}
            ]})
        );
    }
}
