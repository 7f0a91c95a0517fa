//! Stub generation (placeholder).
pub fn generate(_m: &crate::ir::typed::Module) -> String { String::new() }
