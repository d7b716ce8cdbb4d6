use diaba_store::Store;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// Largest number of vertices accepted in one parcel.
    pub max_vertices: usize,
}

impl AppState {
    /// State over a store, with the limits of `config`.
    pub fn new(store: Arc<Store>, config: &crate::Config) -> Self {
        Self { store, max_vertices: config.max_vertices }
    }
}
