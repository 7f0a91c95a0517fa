//! Idiomatic hand-written Rust for three of the benchmark kernels, with the
//! names and signatures of their Python originals in `bench/kernels`:
//!
//! - `jacobi_sweeps(u0: float64[:, :], sweeps: int) -> float64[:, :]` (b_jacobi2d.py)
//! - `matmul(a: float64[:, :], b: float64[:, :]) -> float64[:, :]` (b_matmul.py)
//! - `fib(n: int) -> int` (b_fib.py)
//!
//! Each is what a Rust programmer would write by hand: ndarray views in, owned
//! arrays out, the same loop order and summation order as the Python (so the
//! results agree with CPython bit for bit), and the GIL released while the
//! loops run, as ferropy's generated code does.

use ndarray::{Array2, ArrayView2};
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Jacobi sweeps of the five-point Laplace stencil; the border stays fixed.
fn jacobi(u0: ArrayView2<'_, f64>, sweeps: usize) -> Array2<f64> {
    let (h, w) = u0.dim();
    let mut u = u0.to_owned();
    let mut v = u0.to_owned();
    for _ in 0..sweeps {
        for i in 1..h.saturating_sub(1) {
            for j in 1..w.saturating_sub(1) {
                v[[i, j]] = 0.25 * (u[[i - 1, j]] + u[[i + 1, j]] + u[[i, j - 1]] + u[[i, j + 1]]);
            }
        }
        std::mem::swap(&mut u, &mut v);
    }
    u
}

/// The i-j-k product with one accumulator per output element, summed in order.
fn matmul_ijk(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let (n, m) = (a.nrows(), b.ncols());
    let mut c = Array2::zeros((n, m));
    for i in 0..n {
        let row = a.row(i);
        for j in 0..m {
            c[[i, j]] = row.iter().zip(b.column(j)).fold(0.0, |acc, (x, y)| acc + x * y);
        }
    }
    c
}

fn fib_rec(n: i64) -> i64 {
    if n < 2 {
        n
    } else {
        fib_rec(n - 1) + fib_rec(n - 2)
    }
}

#[pyfunction]
fn jacobi_sweeps<'py>(
    py: Python<'py>,
    u0: PyReadonlyArray2<'py, f64>,
    sweeps: i64,
) -> Bound<'py, PyArray2<f64>> {
    let u0 = u0.as_array();
    let sweeps = usize::try_from(sweeps).unwrap_or(0);
    py.allow_threads(|| jacobi(u0, sweeps)).into_pyarray(py)
}

#[pyfunction]
fn matmul<'py>(
    py: Python<'py>,
    a: PyReadonlyArray2<'py, f64>,
    b: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (a, b) = (a.as_array(), b.as_array());
    if a.ncols() != b.nrows() {
        return Err(PyValueError::new_err(format!(
            "matmul: shapes {:?} and {:?} do not align",
            a.shape(),
            b.shape()
        )));
    }
    Ok(py.allow_threads(|| matmul_ijk(a, b)).into_pyarray(py))
}

#[pyfunction]
fn fib(py: Python<'_>, n: i64) -> i64 {
    py.allow_threads(|| fib_rec(n))
}

#[pymodule]
fn hand_kernels(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(jacobi_sweeps, m)?)?;
    m.add_function(wrap_pyfunction!(matmul, m)?)?;
    m.add_function(wrap_pyfunction!(fib, m)?)?;
    Ok(())
}
