//! The types of ferropy's typed IR: Python scalars, NumPy scalars, tuples and arrays.
//!
//! Python `int` and `float` are `Int` and `Float` (i64 and f64). NumPy scalars
//! of other dtypes (what indexing a `uint8` array yields) keep their dtype so
//! arithmetic on them follows NumPy's promotion rules; `int64` and `float64`
//! elements are folded into `Int` and `Float`, which behave the same in the
//! compiled subset.

use std::fmt;

/// A NumPy element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dtype {
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float32,
    Float64,
    /// Two float32: NumPy's `complex64`.
    Complex64,
    /// Two float64: NumPy's `complex128`, Python's `complex`.
    Complex128,
}

impl Dtype {
    pub const ALL: [Dtype; 13] = [
        Dtype::Bool,
        Dtype::Int8,
        Dtype::Int16,
        Dtype::Int32,
        Dtype::Int64,
        Dtype::UInt8,
        Dtype::UInt16,
        Dtype::UInt32,
        Dtype::UInt64,
        Dtype::Float32,
        Dtype::Float64,
        Dtype::Complex64,
        Dtype::Complex128,
    ];

    /// Parses NumPy's names (`float64`, `uint8`) and the short forms used by
    /// Numba and Pythran (`f8`, `u1`, `b1`), plus the builtins `int`, `float`
    /// and `bool` as NumPy reads them.
    pub fn from_name(name: &str) -> Option<Dtype> {
        Some(match name {
            "bool" | "bool_" | "b1" => Dtype::Bool,
            "int8" | "i1" => Dtype::Int8,
            "int16" | "i2" => Dtype::Int16,
            "int32" | "i4" | "intc" => Dtype::Int32,
            "int64" | "i8" | "int" | "int_" | "intp" => Dtype::Int64,
            "uint8" | "u1" | "ubyte" => Dtype::UInt8,
            "uint16" | "u2" => Dtype::UInt16,
            "uint32" | "u4" => Dtype::UInt32,
            "uint64" | "u8" | "uintp" => Dtype::UInt64,
            "float32" | "f4" | "single" => Dtype::Float32,
            "float64" | "f8" | "float" | "double" | "float_" => Dtype::Float64,
            "complex64" | "c8" | "csingle" | "singlecomplex" => Dtype::Complex64,
            "complex128" | "c16" | "complex" | "cdouble" | "complex_" | "doublecomplex" => {
                Dtype::Complex128
            }
            _ => return None,
        })
    }

    /// Bytes per element: NumPy's `itemsize`.
    pub fn itemsize(self) -> i64 {
        match self {
            Dtype::Bool | Dtype::Int8 | Dtype::UInt8 => 1,
            Dtype::Int16 | Dtype::UInt16 => 2,
            Dtype::Int32 | Dtype::UInt32 | Dtype::Float32 => 4,
            Dtype::Int64 | Dtype::UInt64 | Dtype::Float64 | Dtype::Complex64 => 8,
            Dtype::Complex128 => 16,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::Int8 => "int8",
            Dtype::Int16 => "int16",
            Dtype::Int32 => "int32",
            Dtype::Int64 => "int64",
            Dtype::UInt8 => "uint8",
            Dtype::UInt16 => "uint16",
            Dtype::UInt32 => "uint32",
            Dtype::UInt64 => "uint64",
            Dtype::Float32 => "float32",
            Dtype::Float64 => "float64",
            Dtype::Complex64 => "complex64",
            Dtype::Complex128 => "complex128",
        }
    }

    /// The Rust type that stores one element: a primitive, or the runtime's
    /// `Complex32`/`Complex` (spelled without the `rt::` path).
    pub fn rust_name(self) -> &'static str {
        match self {
            Dtype::Bool => "bool",
            Dtype::Int8 => "i8",
            Dtype::Int16 => "i16",
            Dtype::Int32 => "i32",
            Dtype::Int64 => "i64",
            Dtype::UInt8 => "u8",
            Dtype::UInt16 => "u16",
            Dtype::UInt32 => "u32",
            Dtype::UInt64 => "u64",
            Dtype::Float32 => "f32",
            Dtype::Float64 => "f64",
            Dtype::Complex64 => "Complex32",
            Dtype::Complex128 => "Complex",
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Dtype::Float32 | Dtype::Float64)
    }

    pub fn is_complex(self) -> bool {
        matches!(self, Dtype::Complex64 | Dtype::Complex128)
    }

    /// The complex dtype of the same precision as a float dtype (and the
    /// complex dtype itself): what `a + 0j` of a float32 array is.
    pub fn complex_of(self) -> Dtype {
        match self {
            Dtype::Float32 | Dtype::Complex64 => Dtype::Complex64,
            _ => Dtype::Complex128,
        }
    }

    /// The float dtype of one component of a complex dtype (`z.real`,
    /// `np.abs(z)`); the dtype itself for the others.
    pub fn component(self) -> Dtype {
        match self {
            Dtype::Complex64 => Dtype::Float32,
            Dtype::Complex128 => Dtype::Float64,
            other => other,
        }
    }

    pub fn is_signed(self) -> bool {
        matches!(
            self,
            Dtype::Int8 | Dtype::Int16 | Dtype::Int32 | Dtype::Int64
        )
    }

    pub fn is_unsigned(self) -> bool {
        matches!(
            self,
            Dtype::UInt8 | Dtype::UInt16 | Dtype::UInt32 | Dtype::UInt64
        )
    }

    /// Whether an integer dtype holds `value`; false for the float dtypes.
    pub fn holds(self, value: i64) -> bool {
        match self {
            Dtype::Int8 => i8::try_from(value).is_ok(),
            Dtype::Int16 => i16::try_from(value).is_ok(),
            Dtype::Int32 => i32::try_from(value).is_ok(),
            Dtype::Int64 => true,
            Dtype::UInt8 => u8::try_from(value).is_ok(),
            Dtype::UInt16 => u16::try_from(value).is_ok(),
            Dtype::UInt32 => u32::try_from(value).is_ok(),
            Dtype::UInt64 => value >= 0,
            Dtype::Bool => value == 0 || value == 1,
            Dtype::Float32 | Dtype::Float64 | Dtype::Complex64 | Dtype::Complex128 => false,
        }
    }

    pub fn is_integer(self) -> bool {
        self.is_signed() || self.is_unsigned()
    }

    pub fn bits(self) -> u32 {
        match self {
            Dtype::Bool | Dtype::Int8 | Dtype::UInt8 => 8,
            Dtype::Int16 | Dtype::UInt16 => 16,
            Dtype::Int32 | Dtype::UInt32 | Dtype::Float32 => 32,
            Dtype::Int64 | Dtype::UInt64 | Dtype::Float64 | Dtype::Complex64 => 64,
            Dtype::Complex128 => 128,
        }
    }

    fn signed_with_bits(bits: u32) -> Dtype {
        match bits {
            8 => Dtype::Int8,
            16 => Dtype::Int16,
            32 => Dtype::Int32,
            _ => Dtype::Int64,
        }
    }

    /// NumPy's `np.promote_types` for two dtypes.
    pub fn promote(a: Dtype, b: Dtype) -> Dtype {
        use Dtype::*;
        if a == b {
            return a;
        }
        match (a, b) {
            (Bool, other) | (other, Bool) => other,
            (x, y) if x.is_complex() || y.is_complex() => {
                // complex64 holds what float32 holds; anything wider makes
                // complex128.
                let other = if x.is_complex() { y } else { x };
                let narrow = matches!(other, Complex64 | Float32) || other.bits() <= 16;
                if a == Complex128 || b == Complex128 || !narrow {
                    Complex128
                } else {
                    Complex64
                }
            }
            (x, y) if x.is_float() || y.is_float() => {
                // A float absorbs integers that fit its mantissa; float32 only
                // holds integers of up to 16 bits exactly, so NumPy goes to float64.
                let (float, other) = if x.is_float() { (x, y) } else { (y, x) };
                if other == Float64 || float == Float64 {
                    Float64
                } else if other.is_float() || other.bits() <= 16 {
                    Float32
                } else {
                    Float64
                }
            }
            (x, y) if x.is_signed() == y.is_signed() => {
                if x.bits() >= y.bits() {
                    x
                } else {
                    y
                }
            }
            (x, y) => {
                let (signed, unsigned) = if x.is_signed() { (x, y) } else { (y, x) };
                if signed.bits() > unsigned.bits() {
                    signed
                } else if unsigned.bits() < 64 {
                    Dtype::signed_with_bits(unsigned.bits() * 2)
                } else {
                    Float64
                }
            }
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An array type: element dtype and number of dimensions (1 to 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArrayType {
    pub dtype: Dtype,
    pub ndim: u8,
}

/// The concrete type of a value in compiled code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// Python `int`, a 64-bit integer.
    Int,
    /// Python `float`, an f64.
    Float,
    Bool,
    /// A NumPy scalar of a dtype other than bool, int64 and float64.
    Scalar(Dtype),
    Tuple(Vec<Type>),
    Array(ArrayType),
    /// A function argument: `Callable[[float], float]`. Parameters and result
    /// are scalars.
    Callable(CallableType),
    /// A Python `complex` (two f64).
    Complex,
    /// A Python `list` whose elements all have one type; shared by
    /// reference, as in Python.
    List(Box<Type>),
    /// A Python `dict` of one key type and one value type.
    Dict(Box<Type>, Box<Type>),
    /// A Python `set` of one element type.
    Set(Box<Type>),
    /// A Python `tuple` of one item type and a length known only at run
    /// time (`tuple[int, ...]`, `tuple(x for x in xs)`): immutable, so
    /// shared freely; the items are numbers or tuples of them.
    TupleOf(Box<Type>),
    /// The element type of an empty list literal (`[]`) until something is
    /// appended or stored: joins with any type. Never reaches codegen.
    Unknown,
    /// The value of a function that returns nothing.
    None,
    /// A Python `str`, as a parameter used only as a constant (compared with
    /// `==`/`!=`, tested with `in` a tuple of strings, passed to functions).
    Str,
}

/// The signature of a function passed as an argument.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallableType {
    pub params: Vec<Type>,
    pub ret: Box<Type>,
}

impl CallableType {
    /// The signature as the runtime spells it when matching compiled
    /// functions across modules: `(float, int) -> float`.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self.params.iter().map(Type::python_name).collect();
        format!("({}) -> {}", params.join(", "), self.ret.python_name())
    }
}

impl Type {
    /// The type of an element read from an array of this dtype.
    pub fn of_element(dtype: Dtype) -> Type {
        match dtype {
            Dtype::Bool => Type::Bool,
            Dtype::Int64 => Type::Int,
            Dtype::Float64 => Type::Float,
            // An element of a complex64 array is read as a Python complex
            // (widened to two f64), as compiled code has no complex64 scalar.
            Dtype::Complex64 | Dtype::Complex128 => Type::Complex,
            other => Type::Scalar(other),
        }
    }

    /// The dtype that stores values of this scalar type, if it is a scalar.
    pub fn dtype(&self) -> Option<Dtype> {
        match self {
            Type::Int => Some(Dtype::Int64),
            Type::Float => Some(Dtype::Float64),
            Type::Bool => Some(Dtype::Bool),
            Type::Scalar(dtype) => Some(*dtype),
            Type::Complex => Some(Dtype::Complex128),
            _ => None,
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Float | Type::Bool | Type::Scalar(_))
    }

    pub fn is_integer_like(&self) -> bool {
        match self {
            Type::Int | Type::Bool => true,
            Type::Scalar(dtype) => dtype.is_integer(),
            _ => false,
        }
    }

    pub fn is_float_like(&self) -> bool {
        match self {
            Type::Float => true,
            Type::Scalar(dtype) => dtype.is_float(),
            _ => false,
        }
    }

    /// How the type reads in messages and stubs, in Python's vocabulary.
    pub fn python_name(&self) -> String {
        match self {
            Type::Int => "int".into(),
            Type::Float => "float".into(),
            Type::Bool => "bool".into(),
            Type::Scalar(dtype) => format!("np.{dtype}"),
            Type::Tuple(items) => {
                let items: Vec<String> = items.iter().map(Type::python_name).collect();
                format!("tuple[{}]", items.join(", "))
            }
            Type::Array(array) => {
                let dims = vec![":"; array.ndim as usize].join(", ");
                format!("{}[{}]", array.dtype, dims)
            }
            Type::Callable(callable) => {
                let params: Vec<String> = callable.params.iter().map(Type::python_name).collect();
                format!(
                    "Callable[[{}], {}]",
                    params.join(", "),
                    callable.ret.python_name()
                )
            }
            Type::Complex => "complex".into(),
            Type::List(item) => format!("list[{}]", item.python_name()),
            Type::Dict(key, value) => {
                format!("dict[{}, {}]", key.python_name(), value.python_name())
            }
            Type::Set(item) => format!("set[{}]", item.python_name()),
            Type::TupleOf(item) => format!("tuple[{}, ...]", item.python_name()),
            Type::Unknown => "an unknown type".into(),
            Type::None => "None".into(),
            Type::Str => "str".into(),
        }
    }

    /// Whether the type still holds `Unknown` (an empty list literal whose
    /// element type nothing has told).
    pub fn has_unknown(&self) -> bool {
        match self {
            Type::Unknown => true,
            Type::List(item) | Type::Set(item) | Type::TupleOf(item) => item.has_unknown(),
            Type::Dict(key, value) => key.has_unknown() || value.has_unknown(),
            Type::Tuple(items) => items.iter().any(Type::has_unknown),
            _ => false,
        }
    }

    /// Whether the type is or holds a `str`.
    pub fn has_str(&self) -> bool {
        match self {
            Type::Str => true,
            Type::List(item) | Type::Set(item) | Type::TupleOf(item) => item.has_str(),
            Type::Dict(key, value) => key.has_str() || value.has_str(),
            Type::Tuple(items) => items.iter().any(Type::has_str),
            _ => false,
        }
    }

    /// Whether values of the type are Python containers (lists), which
    /// compiled code shares by reference and keeps on one thread.
    pub fn has_container(&self) -> bool {
        match self {
            Type::List(_) | Type::Dict(..) | Type::Set(_) => true,
            Type::TupleOf(item) => item.has_container(),
            Type::Tuple(items) => items.iter().any(Type::has_container),
            _ => false,
        }
    }

    /// Whether the type is or holds a tuple of any length, which is not
    /// `Copy` in generated code.
    pub fn has_var_tuple(&self) -> bool {
        match self {
            Type::TupleOf(_) => true,
            Type::List(item) | Type::Set(item) => item.has_var_tuple(),
            Type::Dict(key, value) => key.has_var_tuple() || value.has_var_tuple(),
            Type::Tuple(items) => items.iter().any(Type::has_var_tuple),
            _ => false,
        }
    }

    /// The type a variable has when it is assigned values of both types, as
    /// Python code expects (`acc = 0` then `acc += 0.5` makes `acc` a float).
    pub fn join(a: &Type, b: &Type) -> Option<Type> {
        if a == b {
            return Some(a.clone());
        }
        match (a, b) {
            (Type::Unknown, other) | (other, Type::Unknown) => Some(other.clone()),
            (Type::Complex, other) | (other, Type::Complex) if other.is_numeric() => {
                Some(Type::Complex)
            }
            (Type::List(x), Type::List(y)) => {
                Type::join(x, y).map(|item| Type::List(Box::new(item)))
            }
            (Type::Set(x), Type::Set(y)) => Type::join(x, y).map(|item| Type::Set(Box::new(item))),
            // The items of a tuple of any length have one type, which
            // nothing widens (`t + (True,)` of int tuples holds a bool in
            // Python), and are numbers or tuples of them.
            (Type::TupleOf(x), Type::TupleOf(y)) => var_tuple_of([&**x, &**y].into_iter()),
            // A tuple of a fixed length assigned where one of any length
            // is: `key = ()` then `key = tuple(...)`.
            (Type::TupleOf(item), Type::Tuple(items))
            | (Type::Tuple(items), Type::TupleOf(item)) => {
                var_tuple_of(std::iter::once(&**item).chain(items))
            }
            (Type::Dict(xk, xv), Type::Dict(yk, yv)) => Some(Type::Dict(
                Box::new(Type::join(xk, yk)?),
                Box::new(Type::join(xv, yv)?),
            )),
            (Type::Tuple(xs), Type::Tuple(ys)) if xs.len() == ys.len() => {
                let items: Option<Vec<Type>> =
                    xs.iter().zip(ys).map(|(x, y)| Type::join(x, y)).collect();
                items.map(Type::Tuple)
            }
            // Tuples of two lengths, of items of one type (numbers or tuples
            // of them, which a tuple of any length holds): a tuple of any
            // length (`t = (a,)` here, `t = (a, b)` there).
            (Type::Tuple(xs), Type::Tuple(ys)) => {
                let (first, rest) = xs.split_first().or_else(|| ys.split_first())?;
                let same = rest
                    .iter()
                    .chain(xs.iter())
                    .chain(ys.iter())
                    .all(|t| t == first);
                (same && crate::signature::hashable(first))
                    .then(|| Type::TupleOf(Box::new(first.clone())))
            }
            (x, y) if x.is_numeric() && y.is_numeric() => Some(promote_values(x, y)),
            _ => None,
        }
    }
}

/// A tuple of any length of the given item types: all one type, or not yet
/// known (`()`), and a type such a tuple holds.
fn var_tuple_of<'t>(items: impl Iterator<Item = &'t Type>) -> Option<Type> {
    let mut joined = Type::Unknown;
    for item in items {
        if joined == Type::Unknown {
            joined = item.clone();
        } else if *item != Type::Unknown && *item != joined {
            return None;
        }
    }
    (joined == Type::Unknown || crate::signature::hashable(&joined))
        .then(|| Type::TupleOf(Box::new(joined)))
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.python_name())
    }
}

/// The result type of arithmetic between two numeric values, following
/// Python for builtins and NumPy 2 (NEP 50) for NumPy scalars: a Python
/// `int` or `float` operand is "weak" and adopts the NumPy operand's dtype
/// when the kinds allow it.
pub fn promote_values(a: &Type, b: &Type) -> Type {
    use Type::*;
    match (a, b) {
        (Bool, Bool) | (Int, Int) | (Int, Bool) | (Bool, Int) => Int,
        (Float, Float) | (Float, Int) | (Int, Float) | (Float, Bool) | (Bool, Float) => Float,
        (Scalar(d), Int) | (Int, Scalar(d)) | (Scalar(d), Bool) | (Bool, Scalar(d)) => Scalar(*d),
        (Scalar(d), Float) | (Float, Scalar(d)) => {
            if d.is_float() {
                Scalar(*d)
            } else {
                Float
            }
        }
        (Scalar(x), Scalar(y)) => Type::of_element(Dtype::promote(*x, *y)),
        _ => Float,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_follows_numpy() {
        use Dtype::*;
        let cases = [
            (UInt8, Int8, Int16),
            (UInt8, UInt16, UInt16),
            (Int64, UInt64, Float64),
            (Float32, Int64, Float64),
            (Float32, Int16, Float32),
            (Float32, UInt8, Float32),
            (Int32, UInt32, Int64),
            (Bool, UInt8, UInt8),
            (Complex64, Float32, Complex64),
            (Complex64, Float64, Complex128),
            (Complex64, Int16, Complex64),
            (Complex64, Int32, Complex128),
            (Complex64, Complex128, Complex128),
            (Int8, Complex64, Complex64),
            (Float64, Complex128, Complex128),
        ];
        for (a, b, expected) in cases {
            assert_eq!(Dtype::promote(a, b), expected, "{a} + {b}");
            assert_eq!(Dtype::promote(b, a), expected, "{b} + {a}");
        }
    }

    #[test]
    fn python_scalars_are_weak() {
        let uint8 = Type::Scalar(Dtype::UInt8);
        assert_eq!(promote_values(&uint8, &Type::Int), uint8);
        assert_eq!(promote_values(&uint8, &Type::Float), Type::Float);
        let float32 = Type::Scalar(Dtype::Float32);
        assert_eq!(promote_values(&Type::Float, &float32), float32);
        assert_eq!(Type::join(&Type::Int, &Type::Float), Some(Type::Float));
    }
}
