//! Builds the eBPF programs (`sockwatch-ebpf`) with aya-build and leaves the object in OUT_DIR.
//! `cargo xtask build` prepares what this needs: a toolchain with rust-src and bpf-linker on PATH.
use std::{env, path::Path, process::ExitCode};

fn main() -> ExitCode {
    println!("cargo:rerun-if-env-changed=SOCKWATCH_EBPF_TOOLCHAIN");
    let toolchain = env::var("SOCKWATCH_EBPF_TOOLCHAIN").unwrap_or_else(|_| "nightly".into());
    let skip = env::var("AYA_BUILD_SKIP").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    if skip {
        // Tools that need no eBPF object (clippy, unit tests of pure code) still compile the
        // crate: leave an empty object, which the loader reports as "built without eBPF".
        println!("cargo:rerun-if-env-changed=AYA_BUILD_SKIP");
        let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("sockwatch");
        if !out.exists() {
            std::fs::write(&out, b"").expect("write placeholder eBPF object");
        }
        return ExitCode::SUCCESS;
    }
    if !on_path("bpf-linker") {
        println!(
            "cargo:warning=bpf-linker is not on PATH: build through `cargo xtask build`, which installs it"
        );
        return ExitCode::FAILURE;
    }
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let ebpf_dir = Path::new(&manifest_dir).join("../sockwatch-ebpf");
    let ebpf_dir = ebpf_dir.to_str().expect("workspace path is UTF-8");
    let package = aya_build::Package {
        name: "sockwatch-ebpf",
        root_dir: ebpf_dir,
        ..Default::default()
    };
    match aya_build::build_ebpf([package], aya_build::Toolchain::Custom(&toolchain)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            println!("cargo:warning=building the eBPF programs failed: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
