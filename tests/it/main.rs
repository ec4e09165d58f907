//! All integration tests in one binary (each extra binary re-links DataFusion).

mod fixture;

mod breakouts;
mod browser;
mod commits;
mod compliance;
mod crash;
mod deviants;
mod differencing;
mod formats;
mod fuzz;
mod ideas;
mod indicators;
mod indigenous;
mod migration;
mod packs;
mod peers;
mod periods;
mod population_rates;
mod reference;
mod refusal;
mod rejections;
mod sample;
mod server;
mod sessions;
mod signin;
mod stats_cli;
mod stats_props;
mod versions;
mod web;
