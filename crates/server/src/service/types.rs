//! The domain's vocabulary: typed ids and ordered roles instead of bare integers and strings.

use std::fmt;

/// A user's id (`users.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type)]
#[sqlx(transparent)]
pub struct UserId(pub i64);

/// An organization's id (`organizations.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type)]
#[sqlx(transparent)]
pub struct OrgId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// CVAT's system roles (the `admin`, `business`, `user`, `worker` groups), highest first: the
/// highest one a user has is its privilege. `Ord` follows the priority (`Admin` is greatest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SystemRole {
    Admin,
    Business,
    User,
    Worker,
}

impl SystemRole {
    /// In priority order.
    pub const ALL: [SystemRole; 4] = [
        SystemRole::Admin,
        SystemRole::Business,
        SystemRole::User,
        SystemRole::Worker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SystemRole::Admin => "admin",
            SystemRole::Business => "business",
            SystemRole::User => "user",
            SystemRole::Worker => "worker",
        }
    }

    pub fn parse(name: &str) -> Option<SystemRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The highest role among a user's group names (other groups grant nothing).
    pub fn privilege_of(groups: &[String]) -> Option<SystemRole> {
        groups.iter().filter_map(|g| SystemRole::parse(g)).max()
    }

    fn rank(self) -> u8 {
        match self {
            SystemRole::Worker => 0,
            SystemRole::User => 1,
            SystemRole::Business => 2,
            SystemRole::Admin => 3,
        }
    }
}

impl PartialOrd for SystemRole {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SystemRole {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// A member's role in an organization, lowest first (`Ord`: `Owner` is greatest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrgRole {
    Worker,
    Supervisor,
    Maintainer,
    Owner,
}

impl OrgRole {
    /// In the order CVAT lists them (lowest first).
    pub const ALL: [OrgRole; 4] = [
        OrgRole::Worker,
        OrgRole::Supervisor,
        OrgRole::Maintainer,
        OrgRole::Owner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::Worker => "worker",
            OrgRole::Supervisor => "supervisor",
            OrgRole::Maintainer => "maintainer",
            OrgRole::Owner => "owner",
        }
    }

    pub fn parse(name: &str) -> Option<OrgRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// A role as stored; the schema allows only the four names, and anything else would be
    /// read as the least privileged one (deny by default).
    pub fn from_stored(name: &str) -> OrgRole {
        Self::parse(name).unwrap_or(OrgRole::Worker)
    }
}

impl fmt::Display for OrgRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_privilege_is_the_highest_system_role() {
        let groups = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            SystemRole::privilege_of(&groups(&["worker", "business"])),
            Some(SystemRole::Business)
        );
        assert_eq!(
            SystemRole::privilege_of(&groups(&["user", "admin"])),
            Some(SystemRole::Admin)
        );
        assert_eq!(SystemRole::privilege_of(&groups(&["custom"])), None);
        assert!(SystemRole::Admin > SystemRole::Business && SystemRole::User > SystemRole::Worker);
    }

    #[test]
    fn organization_roles_are_ordered_and_round_trip() {
        assert!(OrgRole::Owner > OrgRole::Maintainer && OrgRole::Supervisor > OrgRole::Worker);
        for r in OrgRole::ALL {
            assert_eq!(OrgRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(OrgRole::parse("Owner"), None);
        assert_eq!(OrgRole::from_stored("bogus"), OrgRole::Worker);
    }
}
