//! Presentation: figures ([`plots`], plotters SVG/PNG), the self-contained
//! HTML report ([`report`]) and inline display in evcxr notebooks
//! ([`notebook`]). This layer depends on the domain modules and never the
//! other way round: no plotters type appears outside `present/`.

pub mod notebook;
pub mod plots;
pub mod report;
