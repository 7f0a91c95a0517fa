//! The two intermediate representations between the Python AST and Rust.
//!
//! `untyped` is what `lower` produces: only the supported subset of Python,
//! names resolved (locals, module constants, imported functions), no types.
//! `typed` is what `infer` produces: every expression carries a concrete
//! `Type`, implicit conversions are explicit `Cast` nodes, calls point at one
//! specialised function instance, and builtins are resolved to operations.
//! Codegen only ever sees `typed`.

pub mod typed;
pub mod untyped;

/// Binary arithmetic and bitwise operators, shared by both IRs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    TrueDiv,
    FloorDiv,
    Mod,
    Pow,
    BitAnd,
    BitOr,
    BitXor,
    LShift,
    RShift,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::TrueDiv => "/",
            BinaryOp::FloorDiv => "//",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "**",
            BinaryOp::BitAnd => "&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "^",
            BinaryOp::LShift => "<<",
            BinaryOp::RShift => ">>",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    NotEq,
    Lt,
    LtE,
    Gt,
    GtE,
}

impl CompareOp {
    /// The comparison `b op' a` that means `a op b`.
    pub fn swapped(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::LtE => CompareOp::GtE,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::GtE => CompareOp::LtE,
            other => other,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Pos,
    Not,
    Invert,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BoolOp {
    And,
    Or,
}
