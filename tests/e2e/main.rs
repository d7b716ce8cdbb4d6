//! End-to-end tests: the real `diaba` binary, real HTTP, real PostGIS.
// Tests and benchmarks unwrap: a failure there is the report.
#![allow(clippy::unwrap_used)]

mod access;
mod addresses;
mod applications;
mod codecs;
mod embedded;
mod extract;
mod faults;
mod flood;
mod flood_live;
mod hostile;
mod import;
mod lookup;
mod metrics;
mod ogc;
mod operating;
mod parcels;
mod parties;
mod replication;
mod sensors;
mod server;
mod tiles;
mod tls;
mod units;
mod web;
