//! The in-memory spatial index: "what is here?" in microseconds.
//!
//! One [`LayerTree`] per kind of feature (units, parcels, flood zones, addresses), each an
//! rstar R-tree behind a lock-free snapshot. Point queries are exact and count boundary
//! points as inside, like PostGIS `ST_Covers`. The index knows nothing of PostgreSQL: it is
//! fed features and changes (the loop that reads the change feed lives in the API crate),
//! so it can be rebuilt from the database at any time. Parcels, millions of them, are held
//! compact (`diaba_core::outline::Outline`, shared texts, `f32` leaf boxes): about 300 bytes
//! each (bench/results/scale.md).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod features;
mod layer;

pub use diaba_core::spatial::{AddressFeature, FloodFeature, ParcelFeature, UnitFeature};
pub use features::{Index, ParcelsView, Reader};
pub use layer::{Feature, LayerTree, View};
