//! Ablation and pruning: does a unit's score say how much the network needs
//! the unit?
//!
//! The paper proposes the tagged response as an importance measure for
//! pruning but shows no numbers; this module measures it (METHOD.md, "Does
//! the score mean anything?"). A *unit* is one channel of a tap, as
//! everywhere in freqtag.
//!
//! In: a [`Model`](crate::Model), the taps whose channels are the units,
//! the [`Results`](crate::Results) of a tagging experiment on *ranking*
//! images, and an [`EvalSet`] of *evaluation* images (labelled or not) that
//! the ranking never saw.
//! Out, stage by stage:
//!
//! 1. **Ablation** ([`ablate`]): an edited ONNX model in which chosen units
//!    are silenced, in one of two [`Mode`]s —
//!    - [`Mode::ZeroWeights`]: zero the producing convolution's (or Gemm's)
//!      output channel, weights `W[c, …]` and bias `b[c]`. For a Conv/Gemm
//!      tap that is the tap itself. For an activation tap the walk goes back
//!      through activations that map an all-zero channel to zero (Relu,
//!      Clip with min ≤ 0 ≤ max — ReLU6 of a BN-folded conv —, LeakyRelu,
//!      HardSwish, …) to a single Conv/Gemm whose output feeds nothing else.
//!      It refuses, naming the node, when that does not hold: an Add (a
//!      residual sum passes the other branch through), a Pad, a
//!      BatchNormalization (BN(0) ≠ 0), Sigmoid (σ(0) = ½), a Clip whose range
//!      excludes 0, or a producer output that feeds other nodes too.
//!    - [`Mode::Mask`]: insert a `Mul` by a per-channel 0/1 initializer
//!      (`[1, C, 1, 1]`, or `[1, C]` for flat taps) after the tap and rewire
//!      its consumers; works after any tap.
//!
//!    [`Ablated::write`] exports the model as ONNX (with a model card beside
//!    it, so `freqtag run` takes it as is) and the masks as JSON and `.npy`.
//! 2. **Rankings** ([`Ranking`]) of the units of every tap and network-wide,
//!    by a [`Criterion`]: the freqtag scores `tagged_total`, `im`,
//!    `integration`, `authors_snr` (mean over the ranking images), and the
//!    baselines — L1 norm of the producing filter's weights (Li et al. 2017),
//!    mean activation magnitude and APoZ (Hu et al. 2016; both on the
//!    unmodulated ranking images, per position), random (seeded). Higher
//!    *importance* = more important; APoZ enters as `1 − APoZ`; a NaN score
//!    (a silent unit has no integration index) ranks last. Ties are broken by
//!    a seeded hash, so a ranking is deterministic for its seed.
//!    Network-wide, each tap's importances are divided by their root mean
//!    square first (layer-wise ℓ2 normalisation as in Molchanov et al. 2017,
//!    scaled by √C so that wide layers are not favoured): raw scores are on
//!    different scales in different layers.
//! 3. **Evaluation** ([`Evaluator`]): the network with a runtime 0/1 mask on
//!    every ranked tap (one compiled plan for every ablation, which gives the
//!    same outputs as zeroing the weights; tested), scored by [`Damage`] —
//!    top-1 accuracy against labels, top-1 agreement with the unablated
//!    network, and the mean KL divergence KL(p_unablated ‖ p_ablated) of the
//!    softmax outputs, in nats.
//! 4. **Deletion curves** ([`deletion_curves`]): remove the top-k (most
//!    important first) and the bottom-k (least important first) units of each
//!    ranking at increasing sparsity (k = round(s · units)), per tap and
//!    network-wide; random rankings give one curve per seed. [`areas`] gives
//!    the area under each curve, normalised by the sparsity range (so it is
//!    the metric's mean over sparsities 0 … s_max, trapezoid rule, the
//!    unablated point included); [`areas_with`] adds a percentile
//!    [`Bootstrap`] interval over the evaluation images (groups of images —
//!    a photo and its variants — resampled whole; every curve on the same
//!    resamples) and the sparsity from which the curve sits at its *floor*
//!    ([`Evaluator::floor`]: what one constant top-1 class scores);
//!    [`summarise`] collapses seeds to mean, sd, min, max and interval;
//!    [`verdict`] states in plain words which ranking damages most when its
//!    top units go and least when its bottom units go, each ranking's
//!    separation (bottom − top, with a paired interval) and the curves at
//!    their floor; [`summarise_points`] gives every point its bootstrap
//!    interval on the same resamples (the figures' error bars).
//!    [`probe_sparsities`] chooses the network-wide sparsities by
//!    [`sparsity_rule`]: up to where random removal has done 90 % of the
//!    damage it can, log-spaced (large networks such as Lite0 are at the
//!    floor from a few per cent on; MNIST's CNN is not);
//!    [`probe_layer_sparsities`] does the same within each per-layer tap,
//!    with random removal inside the tap (a quarter of an early Lite0 layer
//!    already takes every ranking to the floor, a quarter of the head does
//!    not).
//! 5. **Tables**: [`rankings_table`], [`curves_table`], [`points_table`],
//!    [`areas_table`], [`summary_table`] (Polars), written as Parquet with the rest of a
//!    [`Study`] by [`Study::write`].
//! 6. **Data sets and the study**: [`digit_sets`] and [`photo_sets`] split
//!    the shipped digits or photos into ranking images and an [`EvalSet`];
//!    [`run_study`] runs stages 2–4 on them and returns a [`Study`]. Its
//!    figures and HTML report are presentation, in
//!    [`crate::present::ablation`] and [`crate::report::write_ablation`].
//!
//! ## Where things are
//!
//! | file | holds |
//! |---|---|
//! | `edit.rs` | [`Mode`], [`TapUnits`], [`Ablation`], [`ablate`], [`Ablated`] and its files |
//! | `graph.rs` | ONNX graph surgery: [`Producer`], [`producer`], [`check_distinct_units`], zeroing channels, inserting masks ([`mask_node_name`]) |
//! | `rank.rs` | [`Criterion`], [`Ranking`], [`tagging_rankings`], [`l1_ranking`], [`activation_stats`], [`random_ranking`] |
//! | `evaluate.rs` | [`UnitMask`], [`MaskedNet`], [`EvalSet`], [`Evaluator`], [`Damage`], [`PerImage`]; [`accuracy`], [`top1_agreement`], [`mean_kl`], [`kl_per_row`], [`auc`] |
//! | `curves.rs` | [`Direction`], [`CurvePlan`], [`CurvePoint`], [`deletion_curves`], [`Area`], [`areas`], [`floor_from`], [`Stat`], [`AreaSummary`], [`summarise`], [`verdict`], [`PointSummary`], [`summarise_points`], [`sparsity_rule`], [`probe_sparsities`], [`probe_layer_sparsities`] |
//! | `bootstrap.rs` | [`Bootstrap`], [`Resamples`], [`Interval`], [`quantile`]: percentile intervals over evaluation images |
//! | `tables.rs` | the Polars tables: [`rankings_table`], [`curves_table`], [`points_table`], [`areas_table`], [`summary_table`] |
//! | `datasets.rs` | [`load_digits`], [`photo_variant`], [`Dataset`], [`digit_sets`], [`photo_sets`] |
//! | `study.rs` | [`StudyConfig`], [`Stage`], [`Part`], [`run_study`], [`run_study_with`] (finished parts as they come), [`Study`] (JSON, Markdown, [`Study::write`]), [`ScopeSparsities`] (which sparsities and why) |
//!
//! ```no_run
//! use freqtag::ablation::{ablate, Ablation, Mode};
//! use freqtag::Model;
//! let model = Model::load("data/models/mnist_cnn.onnx")?;
//! let ablation = Ablation::new(Mode::ZeroWeights).silence("/conv_layers/conv_layers.1/Relu", [0, 5, 7]);
//! let ablated = ablate(&model, &ablation)?;
//! ablated.write("out/ablated".as_ref(), "mnist_cnn")?;
//! # Ok::<(), freqtag::Error>(())
//! ```

mod bootstrap;
mod curves;
mod datasets;
mod edit;
mod evaluate;
mod graph;
mod rank;
mod study;
mod tables;

pub use bootstrap::{quantile, Bootstrap, Interval, Resamples};
pub use curves::{
    areas, areas_with, deletion_curves, deletion_curves_with, floor_from, probe_layer_sparsities, probe_sparsities,
    sparsity_rule, summarise, summarise_points, summarise_with, verdict, verdict_with, Area, AreaSummary, CurvePlan,
    CurvePoint, DamageInterval, Direction, PerImageAreas, PointSummary, SparsityProbe, Stat, LAYER_SPARSITIES, NETWORK,
    NETWORK_SPARSITIES, PROBE_GRID,
};
pub use datasets::{digit_sets, load_digits, photo_sets, photo_variant, Dataset, DEFAULT_RANK_PHOTOS, PHOTO_VARIANTS};
pub use edit::{ablate, Ablated, Ablation, Mode, SilencedTap, TapUnits};
pub use evaluate::{
    accuracy, argmax, auc, kl_per_row, mean_kl, top1_agreement, Damage, EvalSet, Evaluator, MaskedNet, PerImage,
    UnitMask,
};
pub use graph::{check_distinct_units, mask_node_name, producer, Producer};
pub use rank::{
    activation_rankings, activation_stats, l1_ranking, random_ranking, tagging_experiment, tagging_rankings,
    ActivationStats, Criterion, Ranking,
};
pub use study::{run_study, run_study_with, Part, ScopeSparsities, Stage, Study, StudyConfig};
pub use tables::{areas_table, curves_table, points_table, rankings_table, summary_table};
