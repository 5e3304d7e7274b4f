//! Presentation: figures ([`plots`], plotters SVG/PNG; the ablation
//! study's in [`ablation`]), the self-contained HTML reports ([`report`])
//! and inline display in evcxr notebooks ([`notebook`]). This layer
//! depends on the domain modules and never the other way round: no plotters
//! type appears outside `present/`.

pub mod ablation;
pub mod notebook;
pub mod plots;
pub mod report;
