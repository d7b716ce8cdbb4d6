//! The attributes a tile layer publishes: its TileJSON `fields`.

/// One attribute of a layer's features.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Attribute key.
    pub name: &'static str,
    /// TileJSON type: `String` or `Number`.
    pub kind: &'static str,
    /// What it holds.
    pub description: &'static str,
}

pub(crate) const fn field(name: &'static str, kind: &'static str, description: &'static str) -> Field {
    Field { name, kind, description }
}
