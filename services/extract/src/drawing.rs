//! From VN-2000 metres to millimetres on the page: a standard cadastral scale that fits the
//! parcel in its frame, and segments clipped to the frame.

/// Scales of Vietnamese cadastral maps and extracts, largest first.
const SCALES: &[f64] = &[100.0, 200.0, 250.0, 500.0, 1_000.0, 2_000.0, 2_500.0, 5_000.0, 10_000.0, 25_000.0, 50_000.0];

/// How much of the frame the parcel may take, so its neighbours show around it.
const FILL: f64 = 0.6;

/// A rectangle on the page, mm.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub(crate) left: f64,
    pub(crate) bottom: f64,
    pub(crate) width: f64,
    pub(crate) height: f64,
}

impl Frame {
    fn contains(&self, p: [f64; 2]) -> bool {
        p[0] >= self.left && p[0] <= self.left + self.width && p[1] >= self.bottom && p[1] <= self.bottom + self.height
    }
}

/// Ground metres to page millimetres at one scale, centred on the parcel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MapTransform {
    /// 1 : denominator.
    pub(crate) denominator: f64,
    centre: [f64; 2],
    frame: Frame,
}

impl MapTransform {
    /// The largest standard scale at which `outline` fits the frame with room around it.
    pub(crate) fn fitting(outline: &[Vec<[f64; 2]>], frame: Frame) -> Option<Self> {
        let points = outline.iter().flatten();
        let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in points {
            for i in 0..2 {
                min[i] = min[i].min(p[i]);
                max[i] = max[i].max(p[i]);
            }
        }
        if !min[0].is_finite() {
            return None;
        }
        let (dx, dy) = (max[0] - min[0], max[1] - min[1]);
        let denominator = SCALES
            .iter()
            .copied()
            .find(|s| dx * 1000.0 / s <= FILL * frame.width && dy * 1000.0 / s <= FILL * frame.height)
            .unwrap_or(SCALES[SCALES.len() - 1]);
        Some(Self { denominator, centre: [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0], frame })
    }

    /// The page position (mm) of a ground point.
    pub(crate) fn page(&self, p: [f64; 2]) -> [f64; 2] {
        let k = 1000.0 / self.denominator;
        [
            self.frame.left + self.frame.width / 2.0 + (p[0] - self.centre[0]) * k,
            self.frame.bottom + self.frame.height / 2.0 + (p[1] - self.centre[1]) * k,
        ]
    }

    /// Whether a page point is inside the frame.
    pub(crate) fn shows(&self, page: [f64; 2]) -> bool {
        self.frame.contains(page)
    }

    /// The part of the page segment a→b inside the frame (Liang–Barsky).
    pub(crate) fn clip(&self, a: [f64; 2], b: [f64; 2]) -> Option<([f64; 2], [f64; 2])> {
        let f = self.frame;
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        for (p, q) in [
            (-dx, a[0] - f.left),
            (dx, f.left + f.width - a[0]),
            (-dy, a[1] - f.bottom),
            (dy, f.bottom + f.height - a[1]),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let t = q / p;
                if p < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
            }
        }
        (t0 <= t1).then(|| ([a[0] + t0 * dx, a[1] + t0 * dy], [a[0] + t1 * dx, a[1] + t1 * dy]))
    }

    /// A scale bar length (m) near a fifth of the frame, from 1, 2, 5 × 10ⁿ.
    pub(crate) fn bar_metres(&self) -> f64 {
        let target = self.frame.width / 5.0 * self.denominator / 1000.0;
        let magnitude = 10_f64.powf(target.log10().floor());
        [5.0, 2.0, 1.0].into_iter().map(|m| m * magnitude).find(|m| *m <= target).unwrap_or(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Frame = Frame { left: 15.0, bottom: 140.0, width: 180.0, height: 115.0 };

    #[test]
    fn a_town_lot_is_drawn_at_a_standard_scale_and_to_scale() {
        let lot = vec![vec![[0.0, 0.0], [10.0, 0.0], [10.0, 25.0], [0.0, 25.0], [0.0, 0.0]]];
        let map = MapTransform::fitting(&lot, FRAME).unwrap();
        assert_eq!(map.denominator, 500.0, "25 m fits 0.6 × 115 mm at 1:500, not 1:250");
        let (a, b) = (map.page([0.0, 0.0]), map.page([10.0, 0.0]));
        assert!(((b[0] - a[0]) - 20.0).abs() < 1e-9, "10 m is 20 mm at 1:500");
        assert_eq!(map.bar_metres(), 10.0);
    }

    #[test]
    fn segments_are_clipped_to_the_frame() {
        let map = MapTransform::fitting(&[vec![[0.0, 0.0], [1.0, 1.0]]], FRAME).unwrap();
        let (a, b) = map.clip([0.0, 200.0], [100.0, 200.0]).unwrap();
        assert_eq!((a[0], b[0]), (15.0, 100.0));
        assert!(map.clip([0.0, 0.0], [10.0, 0.0]).is_none(), "below the frame");
    }
}
