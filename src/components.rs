//! The component lattice: which spectral bins the tags can reach.
//!
//! In: the tag frequencies, the frame rate and count of a [`Design`], and a
//! maximum order. Out: a [`Lattice`] — one [`Component`] per reachable bin,
//! labelled with its lowest-order combination `n1·f1 + n2·f2 + …` (order
//! `|n1| + |n2| + …`), its kind, the other combinations that land on the
//! same bin (collisions), and whether it was folded down from above Nyquist
//! (alias).
//!
//! In a noise-free, bin-locked run every bit of a unit's AC energy lies on
//! this lattice; bins off it are zero up to rounding (METHOD.md §7).
//!
//! Kinds: *fundamental* (one tag, coefficient ±1), *harmonic* (one tag,
//! |n| ≥ 2), *intermodulation* (two or more tags with non-zero
//! coefficients — the mark of a nonlinear combination of parts).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::stimulus::Design;

/// What kind of combination a component is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// f_k itself.
    Fundamental,
    /// n·f_k, n ≥ 2.
    Harmonic,
    /// A combination of two or more tags.
    Intermodulation,
}

impl Kind {
    /// "fundamental", "harmonic" or "intermodulation".
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Fundamental => "fundamental",
            Kind::Harmonic => "harmonic",
            Kind::Intermodulation => "intermodulation",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reachable bin of the lattice.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Component {
    /// Bin index k (frequency k·fs/N).
    pub bin: usize,
    /// Frequency of the bin in Hz (after folding, for aliases).
    pub frequency_hz: f64,
    /// Coefficients (n1, n2, …) of the lowest-order combination.
    pub coefficients: Vec<i32>,
    /// Σ|n_i| of that combination.
    pub order: u32,
    /// Its kind.
    pub kind: Kind,
    /// Its label, e.g. "f1", "2f2", "f1+f2", "2f1-f2".
    pub label: String,
    /// Other combinations up to the maximum order that land on the same bin.
    pub collisions: Vec<String>,
    /// True when the lowest-order combination lies above Nyquist and reaches
    /// this bin by aliasing.
    pub aliased: bool,
}

impl Component {
    /// The index of the tag for a fundamental or harmonic, `None` for an IM.
    pub fn tag(&self) -> Option<usize> {
        let nz: Vec<usize> = (0..self.coefficients.len()).filter(|&i| self.coefficients[i] != 0).collect();
        (nz.len() == 1).then_some(nz[0])
    }
    /// Harmonic number |n| for a single-tag component.
    pub fn harmonic(&self) -> Option<u32> {
        self.tag().map(|t| self.coefficients[t].unsigned_abs())
    }
}

/// The lattice of a design up to a maximum order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lattice {
    /// Components sorted by bin, at most one per bin.
    pub components: Vec<Component>,
    /// The maximum order enumerated.
    pub max_order: u32,
    /// Bins of the one-sided spectrum (N/2 + 1).
    pub bins: usize,
}

/// Default maximum order of the lattice.
pub const DEFAULT_MAX_ORDER: u32 = 4;

impl Lattice {
    /// Enumerate every combination of order 1 … `max_order` of the design's
    /// tags. Tags must be on their bins (the design validated without
    /// leakage); off-bin tags are placed on their nearest bin.
    pub fn new(design: &Design, max_order: u32) -> Lattice {
        let n = design.frames as i64;
        let fs = design.fs_hz;
        let cycles: Vec<i64> =
            design.tags.iter().map(|t| (t.frequency_hz * design.frames as f64 / fs).round() as i64).collect();
        let k = cycles.len();
        // combos by bin: (order, coeffs, aliased)
        let mut by_bin: BTreeMap<usize, Vec<(u32, Vec<i32>, bool)>> = BTreeMap::new();
        let mut coeffs = vec![0i32; k];
        enumerate(&mut coeffs, 0, max_order as i32, &mut |c| {
            let order: u32 = c.iter().map(|v| v.unsigned_abs()).sum();
            if order == 0 {
                return;
            }
            // canonical sign: first non-zero coefficient positive (F and −F
            // are the same real component)
            let first = c.iter().find(|v| **v != 0).copied().unwrap_or(0);
            if first < 0 {
                return;
            }
            let total: i64 = c.iter().zip(&cycles).map(|(a, b)| *a as i64 * b).sum();
            // combinations with a negative total are the mirror of a positive one
            // whose first coefficient is negative; take |total|
            let m = total.abs();
            if m == 0 {
                return; // lands on DC
            }
            let folded = m.rem_euclid(n);
            let bin = folded.min(n - folded);
            let aliased = m > n / 2;
            if bin == 0 {
                return;
            }
            // store the combination with a positive frequency: f2-f1, not f1-f2
            let sign = if total < 0 { -1 } else { 1 };
            by_bin.entry(bin as usize).or_default().push((order, c.iter().map(|v| sign * v).collect(), aliased));
        });
        let components = by_bin
            .into_iter()
            .map(|(bin, mut combos)| {
                combos.sort_by_key(|a| (a.0, a.2, label_of(&a.1)));
                let (order, best, aliased) = combos[0].clone();
                let nonzero = best.iter().filter(|v| **v != 0).count();
                let kind = match (nonzero, order) {
                    (1, 1) => Kind::Fundamental,
                    (1, _) => Kind::Harmonic,
                    _ => Kind::Intermodulation,
                };
                Component {
                    bin,
                    frequency_hz: bin as f64 * fs / n as f64,
                    label: label_of(&best),
                    collisions: combos[1..].iter().map(|c| label_of(&c.1)).collect(),
                    coefficients: best,
                    order,
                    kind,
                    aliased,
                }
            })
            .collect();
        Lattice { components, max_order, bins: design.bins() }
    }

    /// The component at bin `k`, if the lattice reaches it.
    pub fn at_bin(&self, k: usize) -> Option<&Component> {
        self.components.binary_search_by_key(&k, |c| c.bin).ok().map(|i| &self.components[i])
    }

    /// Components of one kind.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Component> {
        self.components.iter().filter(move |c| c.kind == kind)
    }

    /// Bins not on the lattice (excluding DC): where a noise-free run must
    /// read zero.
    pub fn off_lattice_bins(&self) -> Vec<usize> {
        (1..self.bins).filter(|k| self.at_bin(*k).is_none()).collect()
    }
}

/// All coefficient vectors with Σ|c| ≤ budget, depth-first.
fn enumerate(c: &mut Vec<i32>, i: usize, budget: i32, f: &mut impl FnMut(&[i32])) {
    if i == c.len() {
        f(c);
        return;
    }
    for v in -budget..=budget {
        c[i] = v;
        enumerate(c, i + 1, budget - v.abs(), f);
    }
    c[i] = 0;
}

/// "f1", "2f1", "f1+f2", "2f1-f2", "2f2-f1" …: positive terms first.
pub fn label_of(coeffs: &[i32]) -> String {
    let mut s = String::new();
    let positive_first =
        coeffs.iter().enumerate().filter(|(_, c)| **c > 0).chain(coeffs.iter().enumerate().filter(|(_, c)| **c < 0));
    for (i, &c) in positive_first {
        let sign = if c < 0 {
            "-"
        } else if s.is_empty() {
            ""
        } else {
            "+"
        };
        let mag = c.unsigned_abs();
        let num = if mag == 1 { String::new() } else { mag.to_string() };
        s.push_str(&format!("{sign}{num}f{}", i + 1));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stimulus::{Design, PartLayout};

    #[test]
    fn paper_lattice_labels_and_collisions() {
        let l = Lattice::new(&Design::paper(), 5);
        let at = |hz: f64| l.at_bin((hz * 2.0).round() as usize).unwrap();
        assert_eq!(at(6.0).label, "f1");
        assert_eq!(at(6.0).kind, Kind::Fundamental);
        assert_eq!(at(7.5).label, "f2");
        assert_eq!(at(12.0).label, "2f1");
        assert_eq!(at(12.0).kind, Kind::Harmonic);
        assert_eq!(at(1.5).label, "f2-f1");
        assert_eq!(at(1.5).kind, Kind::Intermodulation);
        assert_eq!(at(13.5).label, "f1+f2");
        assert_eq!(at(4.5).label, "2f1-f2");
        // 30 Hz = 5·f1 = 4·f2: the lower order wins, the other is a collision
        assert_eq!(at(30.0).label, "4f2");
        assert!(at(30.0).collisions.contains(&"5f1".to_string()), "{:?}", at(30.0).collisions);
        // only multiples of 1.5 Hz are reachable
        assert!(l.components.iter().all(|c| c.bin % 3 == 0));
        assert!(l.off_lattice_bins().contains(&1));
        assert!(l.components.iter().all(|c| !c.aliased));
    }

    #[test]
    fn aliases_fold_above_nyquist() {
        // 50 Hz at 120 fps, 120 frames: 2f1 = 100 Hz folds to 20 Hz
        let d = Design::new(PartLayout::Whole, &[50.0]).frames(120);
        let l = Lattice::new(&d, 2);
        let c = l.at_bin(20).unwrap();
        assert_eq!(c.label, "2f1");
        assert!(c.aliased);
        assert_eq!(l.at_bin(50).unwrap().label, "f1");
    }

    #[test]
    fn label_format() {
        assert_eq!(label_of(&[1, 0]), "f1");
        assert_eq!(label_of(&[2, -1]), "2f1-f2");
        assert_eq!(label_of(&[0, 3, 1]), "3f2+f3");
        assert_eq!(label_of(&[-1, 2]), "2f2-f1");
    }
}
