//! Calls kernels written in Python (`src/kernels.py`), which the build
//! script compiles into the module `kernels`.

include!(concat!(env!("OUT_DIR"), "/kernels.rs"));

#[cfg(test)]
mod tests {
    use ferropy_rt::Exception;
    use ndarray::{array, s, Array1};

    use super::kernels;

    #[test]
    fn scalar_kernel() {
        let x = kernels::logistic(2.5, 0.5, 100).unwrap();
        assert!((x - 0.6).abs() < 1e-12, "{x}");
    }

    #[test]
    fn reads_a_two_dimensional_view() {
        let a = array![[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]];
        assert_eq!(
            kernels::column_means(a.view()).unwrap(),
            array![2.0, 3.0, 4.0]
        );
        // Any layout: the transposed view is strided.
        assert_eq!(kernels::column_means(a.t()).unwrap(), array![2.0, 4.0]);
    }

    #[test]
    fn writes_into_an_output_view() {
        let u = array![0.0, 3.0, 6.0, 0.0];
        let mut out = Array1::<f64>::zeros(4);
        kernels::smooth(u.view(), out.view_mut()).unwrap();
        assert_eq!(out, array![0.0, 3.0, 3.0, 0.0]);
    }

    #[test]
    fn raises_as_python_does() {
        let a = array![1.0, 2.0, 3.0];
        assert_eq!(kernels::pick(a.view(), -1).unwrap(), 3.0);
        // A reversed view has a negative stride.
        assert_eq!(kernels::pick(a.slice(s![..;-1]), 0).unwrap(), 3.0);
        let error = kernels::pick(a.view(), 3).unwrap_err();
        assert_eq!(error.type_name(), "IndexError");
        match error.exception() {
            Exception::IndexError(message) => {
                assert_eq!(message, "index 3 is out of bounds for axis 0 with size 3")
            }
            other => panic!("expected IndexError, got {other:?}"),
        }
        assert_eq!(
            error.to_string(),
            "IndexError: index 3 is out of bounds for axis 0 with size 3"
        );
    }
}
