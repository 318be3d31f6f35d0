//! SCIM 2.0's query language (issue 17), apart from HTTP: RFC 7644's filters and PATCH paths
//! are parsed into a typed tree (`filter`), which is compiled to SQL with bound parameters for
//! the Users list (`users_sql`: indexed columns where the case rules allow, so
//! `userName eq "x"` is an index lookup at a million users) or matched in memory against one
//! element of a multi-valued attribute (`eval`, for PATCH's `emails[type eq "work"]`).
//! `http::scim` serves the endpoints.

pub mod eval;
pub mod filter;
pub mod users_sql;

/// RFC 7643's core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Our extension of User: CVAT's system groups (privileges), documented in the README.
pub const CVAT_USER_SCHEMA: &str = "urn:cvat:params:scim:schemas:extension:cvat:2.0:User";
