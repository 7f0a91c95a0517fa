/work/main/runtime/target/debug/deps/ferropy_rt-e7ba64c971be5b35.d: ../templates/rt.rs

/work/main/runtime/target/debug/deps/ferropy_rt-e7ba64c971be5b35: ../templates/rt.rs

../templates/rt.rs:
