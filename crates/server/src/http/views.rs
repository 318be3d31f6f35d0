//! Store records → wire types (spec §5), and the one way a handler answers with one of them.

use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use cvat_proto::{BasicUser, MetaUser, User};

use super::links::{self, user_url};
use crate::error::cvat_json;
use crate::store::UserRecord;

/// `view(origin)` as a CVAT JSON response; `origin` is the request's, for the `url` fields.
pub fn respond<V: serde::Serialize>(
    status: StatusCode,
    parts: &Parts,
    view: impl FnOnce(&str) -> V,
) -> Response {
    cvat_json(status, &view(&links::origin(parts)))
}

/// 200 `{"detail": "..."}`: the answer of auth actions (logout, password change, reset).
pub fn detail_ok(text: &str) -> Response {
    cvat_json(
        StatusCode::OK,
        &cvat_proto::Detail {
            detail: text.into(),
        },
    )
}

/// DRF's date-time format: UTC with `Z`, microseconds only when non-zero.
pub fn datetime(micros: i64) -> String {
    use chrono::SecondsFormat;
    let t = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
    // Not `format(...)`: it parses its pattern on every call (a list page formats 200 dates).
    let digits = if micros.rem_euclid(1_000_000) == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Micros
    };
    t.to_rfc3339_opts(digits, true)
}

pub fn full_user(u: &UserRecord, origin: &str) -> User {
    User {
        url: user_url(origin, u.id),
        id: u.id,
        username: u.username.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        email: u.email.clone(),
        groups: u.groups.clone(),
        is_staff: u.is_staff,
        is_superuser: u.is_superuser,
        is_active: u.is_active,
        last_login: u.last_login.map(datetime),
        date_joined: datetime(u.date_joined),
        created_via: u.created_via.clone(),
        email_verified: u.email_verified,
    }
}

pub fn basic_user(u: &UserRecord, origin: &str) -> BasicUser {
    brief_user(&u.into(), origin)
}

pub fn meta_user(u: &UserRecord, origin: &str, full: bool) -> MetaUser {
    if full {
        MetaUser::Full(full_user(u, origin))
    } else {
        MetaUser::Basic(basic_user(u, origin))
    }
}

pub fn brief_user(u: &crate::store::UserBrief, origin: &str) -> BasicUser {
    BasicUser {
        url: user_url(origin, u.id),
        id: u.id,
        username: u.username.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
    }
}

pub fn organization(o: &crate::store::OrgRecord, origin: &str) -> cvat_proto::Organization {
    cvat_proto::Organization {
        id: o.id.0,
        slug: o.slug.clone(),
        name: o.name.clone(),
        description: o.description.clone(),
        created_date: datetime(o.created_date),
        updated_date: datetime(o.updated_date),
        contact: serde_json::from_str(&o.contact).unwrap_or_else(|_| serde_json::json!({})),
        owner: o.owner.as_ref().map(|u| brief_user(u, origin)),
    }
}

pub fn membership(m: &crate::store::MembershipRecord, origin: &str) -> cvat_proto::Membership {
    cvat_proto::Membership {
        id: m.id,
        user: brief_user(&m.user, origin),
        organization: m.organization_id.0,
        is_active: m.is_active,
        joined_date: m.joined_date.map(datetime),
        role: m.role.as_str().into(),
        invitation: m.invitation.clone(),
    }
}

/// `InvitationRead`; `expired` is computed by the service from the settings.
pub fn invitation(
    i: &crate::store::InvitationRecord,
    expired: Option<bool>,
    origin: &str,
) -> cvat_proto::Invitation {
    cvat_proto::Invitation {
        key: i.key.clone(),
        created_date: datetime(i.created_date),
        owner: i.owner.as_ref().map(|u| brief_user(u, origin)),
        role: i.role.as_str().into(),
        user: brief_user(&i.user, origin),
        organization: i.organization_id.0,
        expired,
        accepted: i.accepted,
        organization_info: cvat_proto::OrganizationInfo {
            id: i.organization_id.0,
            slug: i.org_slug.clone(),
        },
    }
}

/// The create/`PATCH` answer cvat-sdk 2.3.0 parses (see `cvat_proto::InvitationForSdk23`).
pub fn invitation_for_sdk23(
    i: &crate::store::InvitationRecord,
    expired: Option<bool>,
    origin: &str,
) -> cvat_proto::InvitationForSdk23 {
    let v = invitation(i, expired, origin);
    cvat_proto::InvitationForSdk23 {
        key: v.key,
        created_date: v.created_date,
        owner: v.owner.map(|o| o.id),
        role: v.role,
        user: v.user,
        organization: v.organization,
        expired: v.expired,
        accepted: v.accepted,
        organization_info: v.organization_info,
        email: i.user_email.clone(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn datetimes_like_drf() {
        assert_eq!(
            super::datetime(1_645_735_519_000_000),
            "2022-02-24T20:45:19Z"
        );
        assert_eq!(
            super::datetime(1_646_473_021_636_000),
            "2022-03-05T09:37:01.636000Z"
        );
        assert_eq!(super::datetime(1_000_001), "1970-01-01T00:00:01.000001Z");
        assert_eq!(super::datetime(-1), "1969-12-31T23:59:59.999999Z");
    }
}
