//! Makes the eBPF toolchain ready, offline and idempotently: a Rust toolchain that can build
//! `core` for bpfel-unknown-none (rust-src), and bpf-linker built against that toolchain's own
//! libLLVM, cached outside the repository.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

/// bpf-linker release known to build against the toolchains' LLVM here.
const BPF_LINKER_VERSION: &str = "0.13.0";

/// What a build of the eBPF crate needs in its environment.
pub struct Toolchain {
    /// The rustup toolchain that builds the eBPF crate ("nightly", or "stable" with bootstrap).
    pub name: String,
    /// Stable toolchains need RUSTC_BOOTSTRAP=1 to accept `-Z build-std`.
    pub needs_bootstrap_flag: bool,
    /// Folder holding the bpf-linker binary, to put first on PATH.
    pub linker_dir: PathBuf,
}

impl Toolchain {
    /// Applies this toolchain to a cargo command that builds sockwatch.
    pub fn apply(&self, cmd: &mut Command) {
        let path = env::var_os("PATH").unwrap_or_default();
        let dirs = std::iter::once(self.linker_dir.clone()).chain(env::split_paths(&path));
        cmd.env(
            "PATH",
            env::join_paths(dirs).expect("PATH entries have no separator"),
        );
        cmd.env("SOCKWATCH_EBPF_TOOLCHAIN", &self.name);
        if self.needs_bootstrap_flag {
            cmd.env("RUSTC_BOOTSTRAP", "1");
        }
    }
}

/// Progress goes to standard error: `cargo xtask run -- ...`'s standard output is the
/// program's own.
pub fn say(line: &str) {
    eprintln!("xtask: {line}");
}

/// Checks every piece and installs what is missing.
pub fn ensure() -> Result<Toolchain, String> {
    require_program(
        "rustup",
        "install rustup (https://rustup.rs) and a Rust toolchain",
    )?;
    let (name, needs_bootstrap_flag) = pick_toolchain()?;
    let sysroot = capture("rustc", &[&format!("+{name}"), "--print", "sysroot"])?;
    let sysroot = PathBuf::from(sysroot.trim());
    ensure_rust_src(&name, &sysroot)?;
    let linker_dir = ensure_bpf_linker(&name, &sysroot)?;
    Ok(Toolchain {
        name,
        needs_bootstrap_flag,
        linker_dir,
    })
}

/// Prefers an installed nightly; otherwise stable with RUSTC_BOOTSTRAP=1.
fn pick_toolchain() -> Result<(String, bool), String> {
    let list = capture("rustup", &["toolchain", "list"])?;
    let installed: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    if installed.iter().any(|t| t.starts_with("nightly")) {
        return Ok(("nightly".into(), false));
    }
    if installed.iter().any(|t| t.starts_with("stable")) {
        say("no nightly toolchain: building eBPF with stable and RUSTC_BOOTSTRAP=1");
        return Ok(("stable".into(), true));
    }
    Err("no nightly or stable Rust toolchain installed (rustup toolchain install nightly)".into())
}

fn ensure_rust_src(toolchain: &str, sysroot: &Path) -> Result<(), String> {
    if sysroot.join("lib/rustlib/src/rust/library/core").is_dir() {
        return Ok(());
    }
    say(&format!(
        "installing rust-src for the {toolchain} toolchain"
    ));
    run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", toolchain]))
        .map_err(|e| format!("{e}\n  retry: rustup component add rust-src --toolchain {toolchain}"))
}

/// The cache folder for tools built by xtask (never inside the git tree).
fn cache_dir() -> Result<PathBuf, String> {
    if let Some(dir) = env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("sockwatch"));
    }
    env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/sockwatch"))
        .ok_or_else(|| "neither XDG_CACHE_HOME nor HOME is set: no cache folder".to_string())
}

/// bpf-linker must use the LLVM of the toolchain that compiles the eBPF crate: build it against
/// the toolchain's own libLLVM, one build per toolchain release.
fn ensure_bpf_linker(toolchain: &str, sysroot: &Path) -> Result<PathBuf, String> {
    let version = capture("rustc", &[&format!("+{toolchain}"), "-vV"])?;
    let field = |key: &str| {
        version
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
    };
    let commit = field("commit-hash:").unwrap_or_else(|| "unknown".into());
    let llvm = field("LLVM version:")
        .ok_or_else(|| format!("`rustc +{toolchain} -vV` reports no LLVM version"))?;
    let llvm_major = llvm.split('.').next().unwrap_or_default().to_string();

    let root = cache_dir()?.join("bpf-linker").join(format!(
        "{}-llvm{llvm_major}",
        &commit[..commit.len().min(12)]
    ));
    let bin_dir = root.join("bin");
    if bin_dir.join("bpf-linker").is_file() {
        return Ok(bin_dir);
    }

    let lib_dir = sysroot.join("lib");
    let libllvm = std::fs::read_dir(&lib_dir)
        .map_err(|e| format!("cannot read {}: {e}", lib_dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libLLVM.so.") || n.starts_with("libLLVM-"))
        })
        .ok_or_else(|| {
            format!(
                "the {toolchain} toolchain ships no libLLVM in {}",
                lib_dir.display()
            )
        })?;

    // LLVM_PREFIX/lib must hold libLLVM.so and the file's own name; bpf-linker keeps this folder
    // as its run path, so it lives in the cache beside the binary.
    let prefix_lib = root.join("llvm/lib");
    std::fs::create_dir_all(&prefix_lib)
        .map_err(|e| format!("cannot create {}: {e}", prefix_lib.display()))?;
    let file_name = libllvm.file_name().expect("read_dir entries have names");
    for link in [prefix_lib.join("libLLVM.so"), prefix_lib.join(file_name)] {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&libllvm, &link)
            .map_err(|e| format!("cannot link {}: {e}", link.display()))?;
    }

    say(&format!(
        "building bpf-linker {BPF_LINKER_VERSION} against the {toolchain} toolchain's LLVM {llvm} (about 2 minutes, once)"
    ));
    let mut cmd = Command::new("cargo");
    cmd.arg(format!("+{toolchain}"))
        .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
        .args(["--no-default-features", "--features"])
        .arg(format!("llvm-{llvm_major}"))
        .arg("--root")
        .arg(&root)
        .env("LLVM_PREFIX", root.join("llvm"));
    run(&mut cmd).map_err(|e| {
        format!(
            "bpf-linker build failed: {e}\n  retry: LLVM_PREFIX={} cargo +{toolchain} install bpf-linker --version {BPF_LINKER_VERSION} --no-default-features --features llvm-{llvm_major} --root {}",
            root.join("llvm").display(),
            root.display()
        )
    })?;
    Ok(bin_dir)
}

fn require_program(program: &str, hint: &str) -> Result<(), String> {
    let found = env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|d| d.join(program).is_file()));
    if found {
        Ok(())
    } else {
        Err(format!("`{program}` not found on PATH: {hint}"))
    }
}

/// Runs a command to completion; an error names the command and its status.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{} failed ({status})", describe(cmd)))
    }
}

/// Runs a command and returns its standard output.
pub fn capture(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    String::from_utf8(output.stdout).map_err(|_| format!("{program} printed non-UTF-8 output"))
}

pub fn describe(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}
