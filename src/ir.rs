//! Intermediate representations: `untyped` (from `lower`) and `typed` (from `infer`).
pub mod typed {
    /// Placeholder until the typed IR lands.
    #[derive(Debug, Default)]
    pub struct Module;
}
pub mod untyped {
    #[derive(Debug, Default)]
    pub struct Module;
}
