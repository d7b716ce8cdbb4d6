//! The kinds of record diaba keeps, as one closed set.
//!
//! Every place that treats layers differently (the change feed, the index, tiles, OGC
//! collections, the CLI's `--layer`) matches on [`Layer`] without a wildcard arm, so a new
//! variant does not compile until each of them has decided what to do with it.

use std::fmt;

/// Declares the enum and [`Layer::ALL`] from one list, so the list is always complete.
macro_rules! layers {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)+) => {
        /// A layer of the register.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Layer {
            $($(#[$doc])* $variant,)+
        }

        impl Layer {
            /// Every layer, in declaration order.
            pub const ALL: &'static [Layer] = &[$(Layer::$variant,)+];

            /// The layer's name in the change feed, logs and reports.
            ///
            /// ```
            /// use diaba_core::Layer;
            /// assert_eq!(Layer::FloodZones.as_str(), "flood_zones");
            /// assert_eq!(Layer::parse("parcels"), Some(Layer::Parcels));
            /// assert_eq!(Layer::parse("owners"), None);
            /// ```
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Layer::$variant => $name,)+
                }
            }
        }
    };
}

layers! {
    /// Administrative units (province, districts before 2025, wards), versioned by date.
    Units = "units",
    /// Land parcels (thửa đất) and their versions.
    Parcels = "parcels",
    /// Household addresses with their Vpostcodes.
    Addresses = "addresses",
    /// Flood-risk zones.
    FloodZones = "flood_zones",
    /// Parties: persons, organisations, households and groups holding rights (LADM LA_Party).
    Parties = "parties",
    /// Rights of parties on parcels (LADM LA_Right).
    Rights = "rights",
    /// Land-use right certificates (Giấy chứng nhận) and their endorsements.
    Certificates = "certificates",
}

impl Layer {
    /// Reads a name written by [`Layer::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|layer| layer.as_str() == name)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_name_reads_back_as_its_layer() {
        for layer in Layer::ALL {
            assert_eq!(Layer::parse(layer.as_str()), Some(*layer));
        }
    }
}
