//! The integration test binary. Every integration test is a module of this one
//! crate, so the suite links once.

mod e2e;
mod explain;
mod snapshots;
