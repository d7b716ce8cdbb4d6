//! End-to-end tests: the real `diaba` binary, real HTTP, real PostGIS.

mod access;
mod addresses;
mod codecs;
mod embedded;
mod faults;
mod flood;
mod hostile;
mod import;
mod lookup;
mod ogc;
mod operating;
mod parcels;
mod server;
mod tiles;
mod units;
mod web;
