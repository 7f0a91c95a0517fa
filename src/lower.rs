//! Lowering (placeholder).
use crate::diagnostics::Diagnostic;
pub fn lower(_p: &crate::parse::Parsed) -> Result<crate::ir::untyped::Module, Vec<Diagnostic>> { Ok(Default::default()) }
