//! Inference (placeholder).
use crate::diagnostics::Diagnostic;
pub fn infer(_m: &crate::ir::untyped::Module) -> Result<crate::ir::typed::Module, Vec<Diagnostic>> { Ok(Default::default()) }
