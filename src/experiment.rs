//! An experiment: one model, one design, a set of taps, run over images.
//!
//! In: a [`Model`], a [`Design`], tap selectors and images. Out:
//! [`Results`] — per image and tap the [`Spectrum`] of every unit, the
//! metrics of every lattice component and the unit scores — which the tables,
//! export, plot and report stages consume.
//!
//! The path of the data for one image: the image is prepared for the model
//! (resize, crop), the stimulus renders frames, the probe runs them (only one
//! fundamental period P when the design is periodic, else all N), the
//! spectrum stage turns `[frames, units]` into amplitudes, and the metrics
//! stage reads them at the lattice.
//!
//! ```no_run
//! use freqtag::{Design, Experiment, Image, Model};
//! let model = Model::load("data/models/efficientnet_lite0.onnx")?;
//! let exp = Experiment::new(model, Design::paper())?.with_taps("default")?;
//! let results = exp.run(&[Image::open("data/images/chelsea.png")?], &|_| {})?;
//! println!("{}", results.images[0].taps.len());
//! # Ok::<(), freqtag::Error>(())
//! ```

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::{Lattice, DEFAULT_MAX_ORDER};
use crate::error::{Error, Result};
use crate::images::Image;
use crate::metrics::{tap_metrics, ComponentMetrics, Significance, SnrPreset, UnitScores};
use crate::model::{Model, Probe, Reduction, Tap};
use crate::spectrum::Spectrum;
use crate::stimulus::{Design, Schedule, Stimulus};

/// Analysis options that are not part of the stimulus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Highest order of the component lattice.
    pub max_order: u32,
    /// Neighbour-bin convention for SNR/BCA/z columns.
    pub preset: SnrPreset,
    /// When a component counts as present.
    pub significance: Significance,
    /// Frames per network run.
    pub batch: usize,
    /// Run all N frames even when one period would do (for checking the
    /// shortcut; the spectra are identical).
    pub full_window: bool,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis {
            max_order: DEFAULT_MAX_ORDER,
            preset: SnrPreset::default(),
            significance: Significance::default(),
            batch: 1,
            full_window: false,
        }
    }
}

/// One tap's results on one image.
#[derive(Clone, Debug)]
pub struct TapResult {
    /// The tap.
    pub tap: Tap,
    /// Spectra of its units.
    pub spectrum: Spectrum,
    /// Per unit, the metrics of every lattice component (lattice order).
    pub components: Vec<Vec<ComponentMetrics>>,
    /// Per unit, its scores.
    pub scores: Vec<UnitScores>,
}

/// One image's results.
#[derive(Clone, Debug)]
pub struct ImageResult {
    /// Image name.
    pub image: String,
    /// The unmodulated, model-sized image.
    pub prepared: Image,
    /// Per tap, in tap order.
    pub taps: Vec<TapResult>,
    /// Frames of the sequence computed: one period P under the periodicity
    /// shortcut, else all N (its spectrum carries the window's bins 0,
    /// N/P, 2N/P, …; [`crate::spectrum::carried_bins`]).
    pub frames_run: usize,
    /// Frames of those that went through the network: the others repeat an
    /// earlier frame exactly and reuse its activations
    /// ([`crate::stimulus::Design::schedule`]).
    pub network_frames: usize,
    /// Wall time of the network runs (s).
    pub network_seconds: f64,
    /// Top classes of the unmodulated image: (class name, probability).
    pub top_classes: Vec<(String, f32)>,
}

/// All results of an experiment.
#[derive(Clone, Debug)]
pub struct Results {
    /// Model name.
    pub model: String,
    /// The design.
    pub design: Design,
    /// Analysis options.
    pub analysis: Analysis,
    /// The component lattice.
    pub lattice: Lattice,
    /// Per image.
    pub images: Vec<ImageResult>,
    /// Total wall time (s).
    pub seconds: f64,
    /// The engine that ran the network ([`crate::model::Backend::describe`]).
    pub engine: String,
    /// What the model outputs, in words ([`Model::output_description`]):
    /// "classifier, 1000 classes", "saliency map …".
    pub model_output: String,
}

impl Results {
    /// Frames through the network per second, over all images.
    pub fn frames_per_second(&self) -> f64 {
        crate::stats::frames_per_second(self.images.iter().map(|i| (i.network_frames, i.network_seconds)))
    }
    /// These results without their images: the model, design, analysis and
    /// lattice that per-image tables and files are written with.
    pub fn context(&self) -> Results {
        Results {
            model: self.model.clone(),
            design: self.design.clone(),
            analysis: self.analysis.clone(),
            lattice: self.lattice.clone(),
            images: vec![],
            seconds: self.seconds,
            engine: self.engine.clone(),
            model_output: self.model_output.clone(),
        }
    }

    /// Units per image (over all taps).
    pub fn units(&self) -> usize {
        self.images.first().map(|i| i.taps.iter().map(|t| t.spectrum.units).sum()).unwrap_or(0)
    }
}

/// The compiled networks of an [`Experiment`] (from [`Experiment::compile`]):
/// the probe reading the taps and, for a model that names classes, the
/// classifier for the top classes.
pub struct Compiled {
    probe: Probe,
    classifier: Option<Probe>,
}

/// An experiment ready to run.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The model.
    pub model: Model,
    /// The stimulus design.
    pub design: Design,
    /// The taps read.
    pub taps: Vec<Tap>,
    /// Analysis options.
    pub analysis: Analysis,
}

impl Experiment {
    /// An experiment on the default taps (every conv and activation output).
    /// The design is validated here, before anything runs.
    pub fn new(model: Model, design: Design) -> Result<Experiment> {
        design.validate()?;
        let taps = model
            .select_taps("default")?
            .into_iter()
            .map(|info| Tap { info, reduction: Reduction::SpatialMean })
            .collect();
        Ok(Experiment { model, design, taps, analysis: Analysis::default() })
    }

    /// Choose taps by selectors (see [`Model::select_taps`]), spatial mean.
    pub fn with_taps(mut self, selectors: &str) -> Result<Experiment> {
        self.taps = self
            .model
            .select_taps(selectors)?
            .into_iter()
            .map(|info| Tap { info, reduction: Reduction::SpatialMean })
            .collect();
        for t in &self.taps {
            t.check(&self.model.name)?;
        }
        Ok(self)
    }

    /// Keep per-position units (every element of the tap, no spatial mean)
    /// for the taps matching `selectors`; taps not yet selected are added.
    pub fn per_position(self, selectors: &str) -> Result<Experiment> {
        self.with_reduction(selectors, Reduction::PerPosition)
    }

    /// Read the special tokens (CLS, registers) of the token taps matching
    /// `selectors` as their own units (channel × special token) instead of
    /// the mean over the patch tokens; taps not yet selected are added.
    pub fn special_tokens(self, selectors: &str) -> Result<Experiment> {
        self.with_reduction(selectors, Reduction::SpecialTokens)
    }

    /// Set the reduction of the taps matching `selectors` (added when not
    /// yet selected); refused for taps that cannot take it.
    pub fn with_reduction(mut self, selectors: &str, reduction: Reduction) -> Result<Experiment> {
        for info in self.model.select_taps(selectors)? {
            let tap = Tap { info, reduction };
            tap.check(&self.model.name)?;
            match self.taps.iter_mut().find(|t| t.info.name == tap.info.name) {
                Some(t) => t.reduction = reduction,
                None => self.taps.push(tap),
            }
        }
        self.taps.sort_by_key(|t| t.info.depth);
        Ok(self)
    }

    /// Set the analysis options.
    pub fn with_analysis(mut self, analysis: Analysis) -> Experiment {
        self.analysis = analysis;
        self
    }

    /// Frames each image sends through the network.
    pub fn frames_per_image(&self) -> usize {
        self.schedule().network_frames()
    }

    /// The frames of each image's sequence and those of them that go
    /// through the network: the distinct frames of one period
    /// ([`Design::schedule`]), or every frame of the window with
    /// [`Analysis::full_window`] (the check of both shortcuts).
    pub fn schedule(&self) -> Schedule {
        if self.analysis.full_window {
            Schedule::every(self.design.frames)
        } else {
            self.design.schedule(self.design.period_frames())
        }
    }

    /// Run every image. `progress(frames)` is called as frames finish (from
    /// worker threads).
    pub fn run(&self, images: &[Image], progress: &(dyn Fn(usize) + Sync)) -> Result<Results> {
        let compiled = self.compile()?;
        self.run_compiled(&compiled, images, 0, progress)
    }

    /// Compile the networks (the tap probe and the classifier) once, for
    /// [`Experiment::run_compiled`]: compiling is the slow step on large
    /// models, and a sweep reuses the result across designs and images.
    pub fn compile(&self) -> Result<Compiled> {
        if self.taps.is_empty() {
            return Err(Error::Config("no taps selected".into()));
        }
        Ok(Compiled {
            probe: self.model.probe(&self.taps, self.analysis.batch)?,
            classifier: if self.model.is_classifier() { Some(self.model.classifier(1)?) } else { None },
        })
    }

    /// Run `images` on networks compiled by [`Experiment::compile`] (for this
    /// model, taps and batch; the design may differ). Image `i` is numbered
    /// `first_index + i` in the noise stream, so a sweep that runs images one
    /// at a time draws the same noise as one run over all of them.
    pub fn run_compiled(
        &self,
        compiled: &Compiled,
        images: &[Image],
        first_index: u64,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Results> {
        let mut images_out = Vec::with_capacity(images.len());
        let mut results = self.run_compiled_each(compiled, images, first_index, progress, &mut |img| {
            images_out.push(img);
            Ok(())
        })?;
        results.images = images_out;
        Ok(results)
    }

    /// Run every image and hand each image's results to `each` as soon as
    /// they are ready, keeping none of them: memory stays that of one image
    /// whatever the number of images (for writers and summaries that
    /// stream, see [`crate::export::Writer`] and [`crate::summary::Summary`]).
    /// Returns the results' context (model, design, analysis, lattice, wall
    /// time) with no images.
    pub fn run_each(
        &self,
        images: &[Image],
        progress: &(dyn Fn(usize) + Sync),
        each: &mut dyn FnMut(ImageResult) -> Result<()>,
    ) -> Result<Results> {
        let compiled = self.compile()?;
        self.run_compiled_each(&compiled, images, 0, progress, each)
    }

    /// [`Experiment::run_each`] on networks compiled by [`Experiment::compile`].
    pub fn run_compiled_each(
        &self,
        compiled: &Compiled,
        images: &[Image],
        first_index: u64,
        progress: &(dyn Fn(usize) + Sync),
        each: &mut dyn FnMut(ImageResult) -> Result<()>,
    ) -> Result<Results> {
        if compiled.probe.taps() != self.taps.as_slice() || compiled.probe.batch() != self.analysis.batch.max(1) {
            return Err(Error::Config(format!(
                "networks compiled for other taps or batch size than this experiment on {}; compile again",
                self.model.name
            )));
        }
        let start = Instant::now();
        let (probe, classifier) = (&compiled.probe, compiled.classifier.as_ref());
        let mut results = self.context();
        for (i, image) in images.iter().enumerate() {
            each(self.run_image(probe, classifier, &results.lattice, image, first_index + i as u64, progress)?)?;
        }
        results.seconds = start.elapsed().as_secs_f64();
        Ok(results)
    }

    /// The results of this experiment before any image has run: model,
    /// design, analysis, lattice and engine, no images (what summaries and
    /// writers that stream start from).
    pub fn context(&self) -> Results {
        Results {
            model: self.model.name.clone(),
            design: self.design.clone(),
            analysis: self.analysis.clone(),
            lattice: Lattice::new(&self.design, self.analysis.max_order),
            images: vec![],
            seconds: 0.0,
            engine: self.model.backend().describe(),
            model_output: self.model.output_description(),
        }
    }

    fn run_image(
        &self,
        probe: &Probe,
        classifier: Option<&Probe>,
        lattice: &Lattice,
        image: &Image,
        index: u64,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<ImageResult> {
        let prepared = self.model.prepare(image)?;
        let stimulus = Stimulus::new(&self.design, &prepared)?.with_image_index(index);
        let schedule = self.schedule();
        let run_frames = schedule.frames();
        let t0 = Instant::now();
        let acts = probe.run(schedule.network_frames(), |j, buf| stimulus.render(schedule.run[j], buf), progress)?;
        let network_seconds = t0.elapsed().as_secs_f64();
        let noisy = !self.design.is_periodic();
        // spectra and metrics of the taps in parallel (a third of the time
        // per image on Lite0 when run on one core)
        let taps = acts
            .into_par_iter()
            .map(|a| {
                let data = schedule.expand(&a.data, a.units);
                let spectrum = if run_frames == self.design.frames {
                    Spectrum::from_activations(&data, run_frames, a.units, self.design.fs_hz)?
                } else {
                    Spectrum::from_period(&data, run_frames, a.units, self.design.fs_hz, self.design.frames)?
                };
                let (components, scores) =
                    tap_metrics(&spectrum, lattice, self.analysis.preset, &self.analysis.significance, noisy);
                Ok(TapResult { tap: a.tap, spectrum, components, scores })
            })
            .collect::<Result<Vec<_>>>()?;
        // a model that names no classes (e.g. a saliency network) has no top-1
        let top_classes = match classifier {
            Some(c) => {
                let logits = c.logits(std::slice::from_ref(&prepared))?;
                top_k(&logits[0], 3).into_iter().map(|(i, p)| (self.model.class_name(i), p)).collect()
            }
            None => vec![],
        };
        Ok(ImageResult {
            image: image.name.clone(),
            prepared,
            taps,
            frames_run: run_frames,
            network_frames: schedule.network_frames(),
            network_seconds,
            top_classes,
        })
    }
}

/// Softmax probabilities of the `k` largest logits: (index, probability).
pub fn top_k(logits: &[f32], k: usize) -> Vec<(usize, f32)> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| ((l - max) as f64).exp()).collect();
    let sum: f64 = exp.iter().sum();
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    idx.into_iter().take(k).map(|i| (i, (exp[i] / sum) as f32)).collect()
}
