//! The integration tests of the core, one binary: modules by subject.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cache_differential;
mod counters;
mod differential;
mod differential_regressions;
mod drivers_agree;
mod drop_out;
mod dynamic;
mod exact_model;
mod filters_properties;
mod filters_scenarios;
mod filters_stream;
mod follow;
mod getters;
mod latched;
mod options;
mod properties;
mod registry;
mod scenarios;
mod scenarios_latest_epsilon;
mod setters;
mod slop_differential;
mod slop_model;
mod stream;
mod synchronizer;
