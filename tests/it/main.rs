//! The integration test binary. Every integration test is a module of this one
//! crate, so the suite links once.

mod array_functions;
mod badcalls;
mod build_faults;
mod corpus;
mod docs;
mod e2e;
mod explain;
mod fuzz;
mod parallel;
mod random_programs;
mod snapshots;
mod support;
