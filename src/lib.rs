//! ako: national benchmarking and learning-collaborative analytics for reducing and
//! eliminating seclusion and restraint.
//!
//! Data flows one way: [`ingest`] → [`lake`] → [`catalog`] (SQL in `queries/`) → output.
//! Nothing lower imports anything higher.
#![deny(unsafe_code)]

pub mod analyst;
pub mod atomic;
pub mod catalog;
pub mod chart;
pub mod compliance;
pub mod config;
pub mod dashboard;
pub mod derived;
pub mod deviants;
pub mod generate;
pub mod ingest;
pub mod lake;
pub mod model;
pub mod peers;
pub mod privacy;
pub mod render;
pub mod stats;
pub mod table;
pub mod web;
