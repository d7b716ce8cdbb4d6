use diaba_store::Store;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
}

impl AppState {
    /// State over a store.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }
}
