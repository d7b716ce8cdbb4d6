//! Administrative units at a point and a date (the 2025 reform reused codes).

use crate::Register;
use crate::at::day_or_today;
use crate::error::{Error, Result};
use diaba_core::LonLat;
use diaba_store::units::UnitsAt;

impl Register {
    /// The ward (and before 2025-07-01 the district) containing a point on a day.
    pub async fn units_at(&self, lat: Option<&str>, lon: Option<&str>, at: Option<&str>) -> Result<UnitsAt> {
        let _turn = self.read_turn().await?;
        let point = LonLat::parse(lat, lon)?;
        let at = day_or_today(at)?;
        self.store.units_at(point, at).await?.ok_or_else(|| {
            Error::not_found(format!(
                "no administrative unit of Cần Thơ covers lat {}, lon {} on {at}; diaba covers the former Cần Thơ city",
                point.lat(),
                point.lon()
            ))
        })
    }
}
