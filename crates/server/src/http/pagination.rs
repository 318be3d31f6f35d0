//! CVAT's page-number pagination (spec §8.1), shared by every paginated list.

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::{Stream, StreamExt};

use super::extract::py_int;
use super::links;
use crate::error::{ApiError, ApiResult};
use crate::pycompat::py_int_saturating;

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
            Some(v) => py_int_saturating(v)
                .filter(|n| *n > 0)
                .unwrap_or(DEFAULT_PAGE_SIZE),
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

    /// The page as CVAT answers it: `fetch(offset, limit)` (skipped when the list is empty),
    /// each row through `view(row, origin)`, wrapped as `wrap` does.
    pub async fn respond<T, V, E>(
        self,
        parts: &Parts,
        count: i64,
        fetch: impl AsyncFnOnce(i64, i64) -> Result<Vec<T>, E>,
        view: impl Fn(&T, &str) -> V,
    ) -> ApiResult<Response>
    where
        V: serde::Serialize,
        ApiError: From<E>,
    {
        let rows = if count == 0 {
            Vec::new()
        } else {
            fetch(self.offset(), self.size).await?
        };
        let origin = links::origin(parts);
        let results: Vec<V> = rows.iter().map(|r| view(r, &origin)).collect();
        Ok(crate::error::cvat_json(
            StatusCode::OK,
            &self.wrap(parts, count, results),
        ))
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

/// Rows fetched per query when a whole list (`page_size=all`) is streamed.
pub const STREAM_BATCH: i64 = 1000;

/// A `page_size=all` response streamed batch by batch: exactly the bytes `cvat_json` writes for
/// `{"count", "next": null, "previous": null, "results": [...]}`, without ever holding the whole
/// list. A batch that fails after the head went out ends the body early (the client sees a
/// truncated response, never a wrong one); it is logged.
pub fn stream_all<T, E>(
    count: i64,
    batches: impl Stream<Item = Result<Vec<T>, E>> + Send + 'static,
) -> Response
where
    T: serde::Serialize,
    E: std::fmt::Display,
{
    let head = format!(r#"{{"count":{count},"next":null,"previous":null,"results":["#);
    let mut first = true;
    let items = batches.map(move |batch| match batch {
        Ok(items) => {
            let mut buf = Vec::with_capacity(items.len() * 320);
            for item in &items {
                if !std::mem::take(&mut first) {
                    buf.push(b',');
                }
                serde_json::to_writer(&mut buf, item).map_err(std::io::Error::other)?;
            }
            Ok(Bytes::from(buf))
        }
        Err(e) => {
            tracing::error!(error = %e, "streaming a list failed half-way");
            Err(std::io::Error::other(e.to_string()))
        }
    });
    let body = futures_util::stream::once(async move { Ok(Bytes::from(head)) })
        .chain(items)
        .chain(futures_util::stream::once(async {
            Ok(Bytes::from_static(b"]}"))
        }));
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::error::CVAT_JSON),
    );
    response
}
