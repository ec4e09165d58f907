//! ako: national benchmarking and learning-collaborative analytics for reducing and
//! eliminating seclusion and restraint.
//!
//! Data flows one way: [`ingest`] → [`lake`] → [`catalog`] (SQL in `queries/`) → output.
//! Nothing lower imports anything higher.
#![deny(unsafe_code)]

/// `From<DataFusionError>` for a library error whose variant holds it boxed, so `?`
/// converts it. Every library error boxes DataFusion's: it is large, and each `Result`
/// carrying it unboxed would grow with it.
macro_rules! boxed_datafusion_error {
    ($error:ty, $variant:path) => {
        impl From<datafusion::error::DataFusionError> for $error {
            fn from(e: datafusion::error::DataFusionError) -> Self {
                $variant(Box::new(e))
            }
        }
    };
}

pub mod atomic;
pub mod catalog;
pub mod chart;
pub mod collab;
pub mod compliance;
pub mod config;
pub mod dashboard;
pub mod derived;
pub mod deviants;
pub mod generate;
pub mod ideas;
pub mod ingest;
pub mod kept;
pub mod lake;
pub mod model;
pub mod pack;
pub mod peers;
pub mod period;
pub mod privacy;
pub mod render;
pub mod series;
pub mod sheet;
pub mod stats;
pub mod table;
pub mod web;
