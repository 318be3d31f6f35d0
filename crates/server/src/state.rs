use std::sync::Arc;

use crate::config::Settings;
use crate::store::Db;

/// Shared by every request.
pub struct AppState {
    pub db: Db,
    /// Key for signed URLs.
    pub secret: String,
    pub settings: Settings,
}

pub type SharedState = Arc<AppState>;
