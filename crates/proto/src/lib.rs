//! The JSON the CVAT Users API sends and accepts, field for field and in CVAT's key order.
//! The server serializes the answers and the SDK deserializes them; the SDK serializes the
//! requests. So neither side can drift from the other, and with the `openapi` feature the
//! server's OpenAPI document is derived from the same types (`openapi::models()`).

mod answers;
mod audit;
mod mfa;
mod requests;

#[cfg(feature = "openapi")]
pub mod openapi;

pub use answers::*;
pub use audit::*;
pub use mfa::*;
pub use requests::*;
