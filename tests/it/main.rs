//! The integration test binary. Every integration test is a module of this one
//! crate, so the suite links once.

mod array_functions;
mod badcalls;
mod build_faults;
mod corpus;
mod dialects;
mod docs;
mod e2e;
mod emit_check;
mod explain;
mod fuzz;
mod import_hook;
mod packaging;
mod parallel;
mod pyenv;
mod python_package;
mod random_programs;
mod rust_build;
mod scaling;
mod snapshots;
mod stubs;
mod support;
