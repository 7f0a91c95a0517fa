//! Codegen (placeholder).
pub fn generate(_m: &crate::ir::typed::Module, module_name: &str, _path: &str) -> String { format!("// {module_name}\n") }
