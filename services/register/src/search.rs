//! How addresses are found: the folded text stored with each (its house number, street or
//! hamlet, and the names of its ward now and of the units it was formed from, so "An Hòa"
//! still finds addresses now in Cái Khế), and the in-memory search engine over them.

use diaba_core::{AddressStatus, Layer, fold};
use diaba_geocoder::{Geocoder, Household};
use diaba_store::addresses::PublicAddress;
use diaba_store::{Change, ChangeOp, Store};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The folded search text of an address in a ward known by `ward_names` (its own name
/// first, then its predecessors').
///
/// ```
/// use diaba_register::search_text;
/// let names = vec!["Phường Ninh Kiều".to_owned(), "Phường Tân An".to_owned()];
/// assert_eq!(search_text("12/3A", Some("Đường 3/2"), None, Some(&names)), "12/3a duong 3/2 phuong ninh kieu phuong tan an");
/// ```
pub fn search_text(
    house_number: &str,
    street: Option<&str>,
    hamlet: Option<&str>,
    ward_names: Option<&Vec<String>>,
) -> String {
    let names = ward_names.map(|n| n.join(" ")).unwrap_or_default();
    fold(&format!("{house_number} {} {} {names}", street.unwrap_or(""), hamlet.unwrap_or("")))
}

/// Verified households in the search engine ([`diaba_geocoder`]), loaded at start and kept
/// current from the change feed: a household verified on any node is searchable on every
/// node once its change is applied (within the feed's second).
#[derive(Debug)]
pub struct AddressSearch {
    engine: Geocoder<PublicAddress>,
    /// Ward code → its name and its predecessors' (former wards and district).
    names: RwLock<HashMap<String, Vec<String>>>,
}

/// A household as the engine indexes it.
fn household(address: PublicAddress, names: &HashMap<String, Vec<String>>) -> Household<PublicAddress> {
    let place = names.get(&address.ward_code).map(|n| n.join(" ")).unwrap_or_default();
    Household {
        id: address.id,
        texts: [
            address.house_number.clone().unwrap_or_default(),
            address.street.clone().unwrap_or_default(),
            address.hamlet.clone().unwrap_or_default(),
            place,
        ],
        ward_code: address.ward_code.clone(),
        lon: address.lon,
        lat: address.lat,
        payload: Arc::new(address),
    }
}

fn engine_error(e: diaba_geocoder::Error) -> diaba_store::Error {
    diaba_store::Error::Io { action: "index for search", path: "(memory)".into(), source: std::io::Error::other(e) }
}

impl AddressSearch {
    /// An empty engine (until [`AddressSearch::load`]).
    pub fn empty() -> diaba_store::Result<Self> {
        Ok(Self { engine: Geocoder::new().map_err(engine_error)?, names: RwLock::default() })
    }

    /// Indexes every verified household.
    pub async fn load(&self, store: &Store) -> diaba_store::Result<()> {
        let names = store.ward_search_names().await?;
        let households: Vec<_> =
            store.verified_addresses(None).await?.into_iter().map(|a| household(a, &names)).collect();
        self.engine.replace_all(households).map_err(engine_error)?;
        *self.names.write().unwrap_or_else(std::sync::PoisonError::into_inner) = names;
        Ok(())
    }

    /// Applies one change of the feed: a household (re)indexed or dropped; the whole
    /// engine again when units changed (their names are every household's place).
    pub async fn apply(&self, store: &Store, change: &Change) -> diaba_store::Result<()> {
        match (change.layer, change.op, change.id) {
            (Layer::Addresses, ChangeOp::Upsert | ChangeOp::Retire, Some(id)) => {
                let record = store.address(id).await?.filter(|a| a.status == AddressStatus::Verified);
                let names = self.names.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
                let indexed = record.map(|r| household(r.public(), &names));
                self.engine.put(id, indexed).map_err(engine_error)
            }
            (Layer::Addresses | Layer::Units, _, _) => self.load(store).await,
            _ => Ok(()),
        }
    }

    /// Households indexed.
    pub fn len(&self) -> usize {
        self.engine.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.engine.is_empty()
    }

    /// The engine itself (for benchmarks and the register's searches).
    pub fn engine(&self) -> &Geocoder<PublicAddress> {
        &self.engine
    }
}
