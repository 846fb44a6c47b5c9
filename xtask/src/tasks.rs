//! The build, run and test tasks.

use std::{env, process::Command};

use crate::{
    bootstrap::{self, say},
    cargo::{build_release, cargo, is_root, workspace_root},
};

pub fn build() -> Result<(), String> {
    let toolchain = bootstrap::ensure()?;
    let binary = build_release(&toolchain)?;
    say(&format!("built {}", binary.display()));
    Ok(())
}

pub fn run(args: Vec<String>) -> Result<(), String> {
    let toolchain = bootstrap::ensure()?;
    let binary = build_release(&toolchain)?;
    let mut cmd = if is_root() {
        Command::new(&binary)
    } else if on_path("sudo") {
        say("not root: running sockwatch through sudo");
        let mut cmd = Command::new("sudo");
        cmd.arg("-E").arg(&binary);
        cmd
    } else {
        say("not root and no sudo: running unprivileged (snapshot works; follow needs root or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)");
        Command::new(&binary)
    };
    let status = cmd
        .args(&args)
        .status()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    // sockwatch's own exit status is the answer; pass it through unchanged.
    std::process::exit(status.code().unwrap_or(1));
}

pub fn test() -> Result<(), String> {
    let mut phases = Phases::default();
    let toolchain = phases.time("bootstrap", bootstrap::ensure)?;
    phases.time("fmt", || {
        say("checking formatting (cargo fmt --check)");
        bootstrap::run(&mut cargo(&toolchain, &["fmt", "--all", "--", "--check"]))
    })?;
    phases.time("layers", crate::layers::check)?;

    phases.time("clippy", || {
        say("linting user-space crates (cargo clippy --all-targets -D warnings)");
        // Clippy needs no eBPF object: skip that build (the placeholder keeps the crate compiling).
        let mut clippy = cargo(
            &toolchain,
            &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
        );
        clippy.env("AYA_BUILD_SKIP", "1");
        bootstrap::run(&mut clippy)
    })?;

    phases.time("clippy (eBPF)", || {
        say("linting the eBPF crate (bpfel-unknown-none)");
        let ebpf_clippy = format!("+{}", toolchain.name);
        let mut clippy = cargo(
            &toolchain,
            &[
                &ebpf_clippy,
                "clippy",
                "--quiet",
                "-p",
                "sockwatch-ebpf",
                "--target",
                "bpfel-unknown-none",
                "-Z",
                "build-std=core",
                "--release",
                "--",
                "-D",
                "warnings",
            ],
        );
        clippy.env(
            "CARGO_TARGET_DIR",
            workspace_root().join("target/ebpf-clippy"),
        );
        bootstrap::run(&mut clippy)
    })?;

    let binary = phases.time("build", || build_release(&toolchain))?;
    // The BTF offsets test compares sockwatch's reading of the kernel's BTF with bpftool's.
    crate::bench::peers::ensure_program("bpftool", "bpftool")?;
    phases.time("tests", || {
        ensure_test_programs()?;
        say("running unit and end-to-end tests (release)");
        let mut tests = cargo(&toolchain, &["test", "--release"]);
        tests.env("SOCKWATCH_BIN", &binary);
        bootstrap::run(&mut tests)
    })?;
    phases.time("kernels", || {
        crate::kernels::check(&toolchain, &binary, &[])
    })?;
    phases.time("bench --quick", || {
        crate::bench::run(&["--quick".to_string()])
    })?;
    phases.time("soak", || {
        crate::soak::follow_soak(&toolchain, &binary, 120)
    })?;
    phases.report();
    say("all checks passed");
    Ok(())
}

/// serve's tests scrape with a real Prometheus (Debian's package, which brings promtool),
/// read HTTP with curl, check deploy/'s unit with systemd-analyze and read its DaemonSet with
/// python3's yaml module.
fn ensure_test_programs() -> Result<(), String> {
    let yaml = || {
        Command::new("python3")
            .args(["-c", "import yaml"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ["prometheus", "promtool", "curl", "systemd-analyze"]
        .iter()
        .all(|p| on_path(p))
        && yaml()
    {
        return Ok(());
    }
    say("installing prometheus, curl, systemd and python3-yaml with apt-get (serve's tests)");
    let apt = |args: &[&str]| bootstrap::run(Command::new("apt-get").args(args));
    apt(&["update", "-qq"])?;
    apt(&[
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "prometheus",
        "curl",
        "systemd",
        "python3-yaml",
    ])
}

/// How long each phase of `cargo xtask test` took, said as each ends and once at the end.
#[derive(Default)]
struct Phases {
    done: Vec<(&'static str, std::time::Duration)>,
}

impl Phases {
    fn time<T>(
        &mut self,
        name: &'static str,
        phase: impl FnOnce() -> Result<T, String>,
    ) -> Result<T, String> {
        let started = std::time::Instant::now();
        let result = phase();
        let took = started.elapsed();
        self.done.push((name, took));
        say(&format!("phase {name}: {:.1} s", took.as_secs_f64()));
        if result.is_err() {
            self.report();
        }
        result
    }

    fn report(&self) {
        let total: std::time::Duration = self.done.iter().map(|(_, took)| *took).sum();
        let each: Vec<String> = self
            .done
            .iter()
            .map(|(name, took)| format!("{name} {:.0} s", took.as_secs_f64()))
            .collect();
        say(&format!(
            "phase times: {} (total {:.0} s)",
            each.join(", "),
            total.as_secs_f64()
        ));
    }
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|d| d.join(program).is_file()))
}
