//! MVT 2.1 encoding, written straight to protobuf bytes: features go into their layer's
//! buffer as they are drawn, with no message structs in between (a generic protobuf crate
//! built a struct per feature and a `Vec` per geometry, then walked them all again to
//! encode). The field order and every byte are what `prost` wrote for the same tile.

use crate::coord::EXTENT;
use crate::feature::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// One encoded MVT layer, ready to go into a tile with [`encode_tile`].
#[derive(Debug, Clone)]
pub struct MvtLayer {
    bytes: Vec<u8>,
    features: usize,
}

impl MvtLayer {
    /// How many features the layer holds.
    pub fn len(&self) -> usize {
        self.features
    }

    /// True when it holds none (never, as drawn: an empty layer is left out).
    pub fn is_empty(&self) -> bool {
        self.features == 0
    }
}

/// The MVT bytes of a tile made of `layers` (drawing order kept); empty when there is none.
pub fn encode_tile(layers: Vec<MvtLayer>) -> Vec<u8> {
    let size = layers.iter().map(|l| 1 + varint_len(l.bytes.len() as u64) + l.bytes.len()).sum();
    let mut out = Vec::with_capacity(size);
    for layer in &layers {
        bytes_field(&mut out, 3, &layer.bytes);
    }
    out
}

/// MVT geometry types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GeomType {
    Point = 1,
    LineString = 2,
    Polygon = 3,
}

/// A feature's geometry as MVT commands, cursor-relative (MVT 2.1 §4.3).
#[derive(Debug, Default)]
pub(crate) struct Commands {
    ints: Vec<u32>,
    cursor: [i32; 2],
}

impl Commands {
    const MOVE_TO: u32 = 1;
    const LINE_TO: u32 = 2;
    const CLOSE_PATH: u32 = 7;

    /// Starts the next feature's geometry.
    pub(crate) fn clear(&mut self) {
        self.ints.clear();
        self.cursor = [0, 0];
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ints.is_empty()
    }

    fn command(&mut self, id: u32, count: usize) {
        self.ints.push(id | (count as u32) << 3);
    }

    fn to(&mut self, [x, y]: [i32; 2]) {
        self.ints.push(zigzag(x.wrapping_sub(self.cursor[0])));
        self.ints.push(zigzag(y.wrapping_sub(self.cursor[1])));
        self.cursor = [x, y];
    }

    /// A point.
    pub(crate) fn point(&mut self, p: [i32; 2]) {
        self.command(Self::MOVE_TO, 1);
        self.to(p);
    }

    /// A line through `points` (at least two).
    pub(crate) fn line(&mut self, points: &[[i32; 2]]) {
        self.command(Self::MOVE_TO, 1);
        self.to(points[0]);
        self.command(Self::LINE_TO, points.len() - 1);
        for &p in &points[1..] {
            self.to(p);
        }
    }

    /// A ring through `points` (at least three, the first not repeated at the end).
    pub(crate) fn ring(&mut self, points: &[[i32; 2]]) {
        self.line(points);
        self.command(Self::CLOSE_PATH, 1);
    }

    /// The rings drawn, decoded (for tests).
    #[cfg(test)]
    pub(crate) fn rings(&self) -> Vec<Vec<[i32; 2]>> {
        let (mut out, mut at, mut i) = (Vec::new(), [0i32, 0], 0);
        let unzig = |n: u32| ((n >> 1) as i32) ^ -((n & 1) as i32);
        while i < self.ints.len() {
            let (id, count) = (self.ints[i] & 7, (self.ints[i] >> 3) as usize);
            i += 1;
            if id == Self::MOVE_TO {
                out.push(Vec::new());
            }
            if id == Self::CLOSE_PATH {
                continue;
            }
            for _ in 0..count {
                at = [at[0] + unzig(self.ints[i]), at[1] + unzig(self.ints[i + 1])];
                i += 2;
                out.last_mut().expect("a move first").push(at);
            }
        }
        out
    }
}

fn zigzag(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

/// FNV-1a of an encoded value: values are a few bytes long, and SipHash showed in profiles.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Map keys that are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys")
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Collects one MVT layer: its encoded features, keys and values.
pub(crate) struct LayerBuilder {
    name: &'static str,
    count: usize,
    b: Buffers,
}

/// What a [`LayerBuilder`] grows as it draws. Kept per thread from one layer to the next
/// (see [`SPARE`]): grown anew for each tile they were a fifth of a z18 tile's drawing
/// (malloc, realloc, rehashing the value map).
#[derive(Default)]
struct Buffers {
    features: Vec<u8>,
    keys: Vec<&'static str>,
    /// Hash of an encoded `Value` message → its index in the value table. Keyed by hash
    /// so that finding a value allocates nothing; on a collision the table is searched.
    values: HashMap<u64, u32, BuildHasherDefault<Prehashed>>,
    /// Where each value's message lies in `value_table`.
    spans: Vec<(u32, u32)>,
    /// The value table as it goes into the layer (field 4 each), in order of first use.
    value_table: Vec<u8>,
    tags: Vec<u32>,
    value: Vec<u8>,
    /// The geometry of the feature being drawn.
    geometry: Commands,
}

impl Buffers {
    fn clear(&mut self) {
        self.features.clear();
        self.keys.clear();
        self.values.clear();
        self.spans.clear();
        self.value_table.clear();
        self.tags.clear();
        self.value.clear();
        self.geometry.clear();
    }

    /// Bytes held by the two buffers that grow with the tile.
    fn held(&self) -> usize {
        self.features.capacity() + self.value_table.capacity()
    }
}

thread_local! {
    /// Buffers of finished layers, for the next layer this thread draws.
    static SPARE: RefCell<Vec<Buffers>> = const { RefCell::new(Vec::new()) };
}

/// A tile draws its layers one after another, so a thread needs one or two spare sets.
const SPARE_SETS: usize = 2;

/// Buffers grown past this (a z14 tile's) are let go rather than kept by the thread.
const SPARE_BYTES: usize = 256 * 1024;

impl Drop for LayerBuilder {
    fn drop(&mut self) {
        if self.b.held() > SPARE_BYTES {
            return;
        }
        let b = std::mem::take(&mut self.b);
        // `try_with`: a builder dropped while its thread ends has nowhere to return to.
        let _ = SPARE.try_with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < SPARE_SETS {
                spare.push(b);
            }
        });
    }
}

impl LayerBuilder {
    pub(crate) fn new(name: &'static str) -> Self {
        let mut b = SPARE.try_with(|spare| spare.borrow_mut().pop()).ok().flatten().unwrap_or_default();
        b.clear();
        Self { name, count: 0, b }
    }

    /// The geometry of the feature being drawn.
    pub(crate) fn geometry(&mut self) -> &mut Commands {
        &mut self.b.geometry
    }

    /// Adds an attribute to the feature being drawn (before [`Self::push`]).
    pub(crate) fn attribute(&mut self, key: &'static str, value: Value<'_>) {
        let k = match self.b.keys.iter().position(|&k| k == key) {
            Some(i) => i,
            None => {
                self.b.keys.push(key);
                self.b.keys.len() - 1
            }
        };
        self.b.value.clear();
        match value {
            Value::Text(text) => bytes_field(&mut self.b.value, 1, text.as_bytes()),
            Value::Number(x) => {
                self.b.value.push(3 << 3 | 1);
                self.b.value.extend_from_slice(&x.to_le_bytes());
            }
            Value::Int(n) => {
                self.b.value.push(4 << 3);
                varint(&mut self.b.value, n as u64);
            }
        }
        let hash = fnv(&self.b.value);
        let v = match self.b.values.get(&hash) {
            Some(&v) if self.value_at(v) == self.b.value => v,
            Some(_) => match (0..self.b.spans.len() as u32).find(|&v| self.value_at(v) == self.b.value) {
                Some(v) => v,
                None => self.add_value(),
            },
            None => {
                let v = self.add_value();
                self.b.values.insert(hash, v);
                v
            }
        };
        self.b.tags.extend([k as u32, v]);
    }

    fn value_at(&self, v: u32) -> &[u8] {
        let (start, end) = self.b.spans[v as usize];
        &self.b.value_table[start as usize..end as usize]
    }

    /// Appends the value in `self.value` to the table; its index.
    fn add_value(&mut self) -> u32 {
        self.b.value_table.push(4 << 3 | 2);
        varint(&mut self.b.value_table, self.b.value.len() as u64);
        let start = self.b.value_table.len() as u32;
        self.b.value_table.extend_from_slice(&self.b.value);
        self.b.spans.push((start, self.b.value_table.len() as u32));
        self.b.spans.len() as u32 - 1
    }

    /// Ends the feature being drawn: its id, type, the attributes added since the last push
    /// and [`Self::geometry`], which must not be empty (callers leave out features with
    /// nothing to draw before adding their attributes).
    pub(crate) fn push(&mut self, id: i64, kind: GeomType) {
        debug_assert!(!self.b.geometry.is_empty());
        let id = u64::try_from(id).ok();
        let tags = packed_len(&self.b.tags);
        let geometry = packed_len(&self.b.geometry.ints);
        // type (2 bytes), geometry, and id and tags when there are.
        let mut size = 2 + 1 + varint_len(geometry as u64) + geometry;
        if let Some(id) = id {
            size += 1 + varint_len(id);
        }
        if !self.b.tags.is_empty() {
            size += 1 + varint_len(tags as u64) + tags;
        }
        self.b.features.push(2 << 3 | 2);
        varint(&mut self.b.features, size as u64);
        if let Some(id) = id {
            self.b.features.push(1 << 3);
            varint(&mut self.b.features, id);
        }
        if !self.b.tags.is_empty() {
            packed(&mut self.b.features, 2, &self.b.tags, tags);
        }
        self.b.features.extend([3 << 3, kind as u8]);
        packed(&mut self.b.features, 4, &self.b.geometry.ints, geometry);
        self.count += 1;
        self.b.tags.clear();
        self.b.geometry.clear();
    }

    pub(crate) fn finish(self) -> Option<MvtLayer> {
        if self.count == 0 {
            return None;
        }
        let field = |len: usize| 1 + varint_len(len as u64) + len;
        let keys: usize = self.b.keys.iter().map(|k| field(k.len())).sum();
        // name, features, keys, values, extent (field 5) and version (field 15, 2 bytes).
        let size = field(self.name.len()) + self.b.features.len() + keys + self.b.value_table.len();
        let mut out = Vec::with_capacity(size + 1 + varint_len(u64::from(EXTENT)) + 2);
        bytes_field(&mut out, 1, self.name.as_bytes());
        out.extend_from_slice(&self.b.features);
        for key in &self.b.keys {
            bytes_field(&mut out, 3, key.as_bytes());
        }
        out.extend_from_slice(&self.b.value_table);
        out.push(5 << 3);
        varint(&mut out, u64::from(EXTENT));
        out.extend([15 << 3, 2]);
        debug_assert_eq!(out.len(), out.capacity(), "the layer's size, reckoned before");
        Some(MvtLayer { bytes: out, features: self.count })
    }
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn varint_len(n: u64) -> usize {
    (64 - (n | 1).leading_zeros() as usize).div_ceil(7)
}

fn bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push(field << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn packed_len(ints: &[u32]) -> usize {
    ints.iter().map(|&n| varint_len(n.into())).sum()
}

fn packed(out: &mut Vec<u8>, field: u8, ints: &[u32], len: usize) {
    out.push(field << 3 | 2);
    varint(out, len as u64);
    for &n in ints {
        varint(out, n.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geozero::mvt::{Message, Tile, TileValue, tile};

    /// A feature as given to the reference encoder: id, type, commands, attributes.
    type Drawn<'a> = (i64, GeomType, Vec<u32>, Vec<(&'static str, Value<'a>)>);

    /// The same features through `prost` (the crate's messages, as tiles were made before).
    fn reference(features: &[Drawn<'_>]) -> Vec<u8> {
        let mut tags = geozero::mvt::TagsBuilder::new();
        let features = features
            .iter()
            .map(|(id, kind, geometry, attributes)| {
                let mut feature = tile::Feature {
                    id: u64::try_from(*id).ok(),
                    r#type: Some(*kind as i32),
                    geometry: geometry.clone(),
                    ..Default::default()
                };
                for &(key, value) in attributes {
                    let value = match value {
                        Value::Text(text) => TileValue::Str(text.to_owned()),
                        Value::Int(n) => TileValue::Int(n),
                        Value::Number(x) => TileValue::Double(x),
                    };
                    let (k, v) = tags.insert_ref(key, value);
                    feature.tags.extend([k, v]);
                }
                feature
            })
            .collect();
        let (keys, values) = tags.into_tags();
        let layer = tile::Layer {
            version: 2,
            name: "parcels".into(),
            features,
            keys,
            values: values.into_iter().map(Into::into).collect(),
            extent: Some(EXTENT),
        };
        Tile { layers: vec![layer] }.encode_to_vec()
    }

    #[test]
    fn layers_encode_byte_for_byte_as_prost_did() {
        let mut out = LayerBuilder::new("parcels");
        let mut expected = Vec::new();
        let rings: [&[[i32; 2]]; 3] = [&[[0, 0], [10, 0], [10, 10]], &[[-64, 4160], [300, 9], [5, 5000]], &[[1, 1]]];
        for (i, ring) in rings.iter().enumerate() {
            let id = [7, -1, 1 << 40][i];
            let attributes = vec![
                ("land_use", Value::Text(if i == 1 { "ODT" } else { "LUC" })),
                ("number", Value::Int([-3, 1, 300][i])),
                ("legal_area_m2", Value::Number(80.5)),
                ("empty", Value::Text("")),
            ];
            let kind = if ring.len() == 1 { GeomType::Point } else { GeomType::Polygon };
            if ring.len() == 1 {
                out.geometry().point(ring[0]);
            } else {
                out.geometry().ring(ring);
            }
            expected.push((id, kind, out.geometry().ints.clone(), attributes.clone()));
            for (key, value) in attributes {
                out.attribute(key, value);
            }
            out.push(id, kind);
        }
        // A feature with no attribute.
        out.geometry().line(&[[2, 2], [3, 3]]);
        expected.push((0, GeomType::LineString, out.geometry().ints.clone(), vec![]));
        out.push(0, GeomType::LineString);
        let layer = out.finish().unwrap();
        assert_eq!(layer.len(), 4);
        assert_eq!(encode_tile(vec![layer]), reference(&expected));
        assert!(LayerBuilder::new("x").finish().is_none());
        assert!(encode_tile(vec![]).is_empty());
    }

    #[test]
    fn values_whose_hashes_collide_stay_apart() {
        let mut out = LayerBuilder::new("parcels");
        out.attribute("land_use", Value::Text("ODT"));
        out.attribute("land_use", Value::Text("LUC"));
        // Make "LUC" look like a collision with "ODT": it is found by searching the table.
        let luc = *out.b.values.values().max().unwrap();
        for v in out.b.values.values_mut() {
            *v = 0;
        }
        out.attribute("land_use", Value::Text("LUC"));
        out.attribute("land_use", Value::Text("ODT"));
        assert_eq!(out.b.tags, [0, 0, 0, luc, 0, luc, 0, 0]);
        assert_eq!(out.b.spans.len(), 2);
    }

    /// A small layer: two features whose keys, values and geometry depend on `seed`.
    fn drawn(seed: i32) -> Vec<u8> {
        let mut out = LayerBuilder::new(if seed == 0 { "parcels" } else { "labels" });
        for i in 0..2 {
            out.geometry().ring(&[[seed, i], [10 + seed, 0], [10, 10 * i]]);
            out.attribute(["number", "sheet"][seed as usize % 2], Value::Int(i64::from(seed + i)));
            out.attribute("name", Value::Text(["Cái Răng", "Bình Thủy", "Ninh Kiều"][(seed + i) as usize % 3]));
            out.push(i64::from(i), GeomType::Polygon);
        }
        // Left half-drawn (its key and value stay in this layer, as ever): its tags and
        // geometry must not reach the next layer drawn on these buffers.
        out.geometry().point([1, 1]);
        out.attribute("unfinished", Value::Number(1.5));
        encode_tile(out.finish().into_iter().collect())
    }

    #[test]
    fn a_layer_drawn_with_a_threads_spare_buffers_is_the_layer_drawn_afresh() {
        let afresh = |seed| std::thread::spawn(move || drawn(seed)).join().unwrap();
        // One thread draws every layer in turn, each on the buffers the last one left.
        let reused: Vec<Vec<u8>> = (0..4).map(drawn).collect();
        for (seed, layer) in (0..4).zip(reused) {
            assert_eq!(layer, afresh(seed), "layer {seed}");
        }
    }

    #[test]
    fn varints_have_their_length() {
        for n in [0, 1, 127, 128, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            varint(&mut out, n);
            assert_eq!(out.len(), varint_len(n), "{n}");
        }
    }
}
