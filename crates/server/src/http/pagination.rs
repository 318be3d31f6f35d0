//! CVAT's page-number pagination (spec §8.1), shared by every paginated list.

use axum::http::request::Parts;
use axum::http::StatusCode;

use super::extract::py_int;
use super::links;
use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE_SIZE: i64 = 10;

/// The page a request asks for, resolved against the total count.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: i64,
    pub size: i64,
    pub pages: i64,
}

impl PageRequest {
    /// `page_size` (integer > 0, or `all`; anything else means the default) and `page`
    /// (Python `int()`, or `last`); 404 `Invalid page.` outside 1..=pages.
    pub fn resolve(parts: &Parts, count: i64) -> ApiResult<PageRequest> {
        let size = match links::query_value(parts, "page_size").as_deref() {
            Some("all") => i64::MAX,
            Some(v) => py_int(v).filter(|n| *n > 0).unwrap_or(DEFAULT_PAGE_SIZE),
            None => DEFAULT_PAGE_SIZE,
        };
        let pages = if count == 0 {
            1
        } else {
            (count - 1) / size + 1
        };
        let invalid = || ApiError::detail(StatusCode::NOT_FOUND, "Invalid page.");
        let page = match links::query_value(parts, "page").as_deref() {
            None => 1,
            Some("last") => pages,
            Some(v) => py_int(v).ok_or_else(invalid)?,
        };
        if page < 1 || page > pages {
            return Err(invalid());
        }
        Ok(PageRequest { page, size, pages })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.size)
    }

    pub fn next(&self, parts: &Parts) -> Option<String> {
        (self.page < self.pages).then(|| links::page_link(parts, self.page + 1))
    }

    pub fn previous(&self, parts: &Parts) -> Option<String> {
        (self.page > 1).then(|| links::page_link(parts, self.page - 1))
    }

    /// Wraps a page of results in `{"count", "next", "previous", "results"}`.
    pub fn wrap<T>(&self, parts: &Parts, count: i64, results: Vec<T>) -> cvat_proto::Paginated<T> {
        cvat_proto::Paginated {
            count,
            next: self.next(parts),
            previous: self.previous(parts),
            results,
        }
    }
}
