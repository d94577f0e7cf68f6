// The crate `rustc -C instrument-coverage` links implicitly. Debian's rustc ships none, so the
// sandbox builds this one (with RUSTC_BOOTSTRAP=1, for this trusted file only) around LLVM's
// profile runtime from libclang-rt-<llvm>-dev; the candidate's own build stays a stable one.
#![no_std]
#![feature(profiler_runtime)]
#![profiler_runtime]
