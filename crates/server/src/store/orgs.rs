//! The organization lookups the users API needs (selection and membership).

use super::{on_pool, Db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgRef {
    pub id: i64,
    pub slug: String,
    pub owner_id: Option<i64>,
}

impl Db {
    pub async fn org_by_slug(&self, slug: &str) -> sqlx::Result<Option<OrgRef>> {
        on_pool!(self, p => sqlx::query_as::<_, OrgRef>("SELECT id, slug, owner_id FROM organizations WHERE slug = $1")
            .bind(slug).fetch_optional(p).await)
    }

    pub async fn org_by_id(&self, id: i64) -> sqlx::Result<Option<OrgRef>> {
        on_pool!(self, p => sqlx::query_as::<_, OrgRef>("SELECT id, slug, owner_id FROM organizations WHERE id = $1")
            .bind(id).fetch_optional(p).await)
    }

    /// The role of `user_id`'s *active* membership in `org_id` (an inactive one counts as none).
    pub async fn active_role(&self, user_id: i64, org_id: i64) -> sqlx::Result<Option<String>> {
        on_pool!(self, p => sqlx::query_scalar::<_, String>(
            "SELECT role FROM memberships WHERE user_id = $1 AND organization_id = $2 AND is_active")
            .bind(user_id).bind(org_id).fetch_optional(p).await)
    }
}
