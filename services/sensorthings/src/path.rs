//! Resource paths under `/sta/v1.1/`: a set, one entity, or what an entity links to.

use crate::StaError;
use crate::entity::{EntitySet, Navigation};

/// What a path names.
#[derive(Debug, Clone, Copy)]
pub enum Resource {
    /// `Things`: a collection.
    Set(EntitySet),
    /// `Things(1)`: one entity.
    Entity(EntitySet, i64),
    /// `Datastreams(1)/Observations` or `Datastreams(1)/Thing`: where a link leads.
    Linked {
        /// The entity the path starts from.
        from: EntitySet,
        /// Its id.
        id: i64,
        /// The link followed.
        link: &'static Navigation,
    },
}

impl Resource {
    /// Reads `Things`, `Things(1)`, `Things(1)/Datastreams` (one link deep).
    ///
    /// ```
    /// use diaba_sensorthings::{EntitySet, Resource};
    /// assert!(matches!(Resource::parse("Datastreams(7)/Observations"), Ok(Resource::Linked { id: 7, .. })));
    /// assert!(matches!(Resource::parse("Observations"), Ok(Resource::Set(EntitySet::Observations))));
    /// assert!(Resource::parse("Things(1)/Observations").is_err());
    /// assert!(Resource::parse("Robots").is_err());
    /// ```
    pub fn parse(path: &str) -> Result<Self, StaError> {
        let mut parts = path.trim_matches('/').split('/');
        let first = parts.next().unwrap_or_default();
        let (set, id) = segment(first)?;
        let resource = match (id, parts.next()) {
            (None, None) => Resource::Set(set),
            (Some(id), None) => Resource::Entity(set, id),
            (Some(id), Some(next)) => {
                let link = set.navigation().iter().find(|l| l.name == next).ok_or_else(|| {
                    let links: Vec<&str> = set.navigation().iter().map(|l| l.name).collect();
                    StaError::NotFound(format!("{} has no link '{next}'; it links to {}", set.name(), links.join(", ")))
                })?;
                Resource::Linked { from: set, id, link }
            }
            (None, Some(_)) => {
                return Err(StaError::BadRequest(format!(
                    "'{first}' is a collection: name one entity, as {first}(1)/…"
                )));
            }
        };
        if let Some(more) = parts.next() {
            return Err(StaError::BadRequest(format!(
                "paths go one link deep (e.g. Datastreams(1)/Observations); '{more}' is one too many"
            )));
        }
        Ok(resource)
    }

    /// The set whose rows answer it.
    pub fn set(&self) -> EntitySet {
        match self {
            Resource::Set(set) | Resource::Entity(set, _) => *set,
            Resource::Linked { link, .. } => link.target,
        }
    }

    /// True when it names one entity rather than a collection.
    pub fn is_single(&self) -> bool {
        match self {
            Resource::Set(_) => false,
            Resource::Entity(..) => true,
            Resource::Linked { link, .. } => link.single,
        }
    }
}

/// `Things` or `Things(12)`.
fn segment(text: &str) -> Result<(EntitySet, Option<i64>), StaError> {
    let (name, id) = match text.split_once('(') {
        Some((name, rest)) => {
            let id =
                rest.strip_suffix(')').and_then(|n| n.parse::<i64>().ok()).filter(|n| *n > 0).ok_or_else(|| {
                    StaError::BadRequest(format!(
                        "'{text}': an entity is named by a positive whole number, as {name}(1)"
                    ))
                })?;
            (name, Some(id))
        }
        None => (text, None),
    };
    let set = EntitySet::parse(name).ok_or_else(|| {
        let names: Vec<&str> = EntitySet::ALL.iter().map(|s| s.name()).collect();
        StaError::NotFound(format!("no entity set '{name}'; diaba serves {}", names.join(", ")))
    })?;
    Ok((set, id))
}
