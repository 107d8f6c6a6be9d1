//! promstatic against its peers: the shared workload and the code every bench file uses.
//!
//! Every library gets the same workload ([`workload`]): the same metric names, HELP texts,
//! label values and numbers, so the benches compare the libraries and nothing else. The
//! criterion bench files under `benches/` (one per operation group) and the `report` binary
//! build on this crate. The crate is a workspace member outside `default-members`, so plain
//! `cargo test` never builds the peers.
//!
//! Naming, which the report relies on: a benchmark function whose id starts with `floor` is a
//! floor (the cost of the bare operation), one that starts with `promstatic` is ours, any
//! other is a peer.

#![deny(missing_docs)]

pub mod allocations;
pub mod http;
pub mod memory;
pub mod peers;
pub mod profile;
pub mod scrape;
pub mod threads;
pub mod workload;
