//! Compiles the Python kernels into `$OUT_DIR/kernels.rs`. A kernel that
//! does not compile fails the build with ferropy's diagnostics.

fn main() {
    let out_dir = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    if let Err(error) = ferropy::Builder::new()
        .file("src/kernels.py")
        .emit_rust(out_dir)
    {
        eprintln!("{error}");
        std::process::exit(1);
    }
}
