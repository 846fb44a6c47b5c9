//! `cargo xtask kernels`: boots each kernel of the matrix (Debian 11's 5.10, Debian 12's 6.1
//! and 6.12) under QEMU and runs sockwatch's checks inside it (xtask/src/kernels/guest-init.sh).
//!
//! Everything comes from Debian's packages: the tools from the machine's apt, each series'
//! newest kernel package with `apt-get download` (Debian 11's through a private apt
//! configuration that leaves the machine's own untouched), cached outside git in
//! ~/.cache/sockwatch/kernels. Each guest boots from a busybox initramfs holding sockwatch, the
//! host's ss, tcpend and familysocks (from the tests crate), their shared libraries and the
//! kernel's own sock_diag modules, with those of vsock, TIPC and AF_XDP where the package has
//! them; the checks print to the serial console, which is all the host reads back.

use std::{
    env, fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    bootstrap::{self, say, Toolchain},
    cargo,
};

/// The init script every guest runs.
const GUEST_INIT: &str = include_str!("kernels/guest-init.sh");
/// What the guests need from the machine's apt.
const PACKAGES: &[(&str, &str)] = &[
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("busybox", "busybox-static"),
    ("cpio", "cpio"),
    ("depmod", "kmod"),
    ("zstd", "zstd"),
    ("xz", "xz-utils"),
];
/// The modules snapshot needs, with what they depend on.
const DIAG_MODULES: &[&str] = &["inet_diag", "tcp_diag", "udp_diag", "raw_diag"];
/// The vsock (with its loopback transport), TIPC and AF_XDP families and their diag modules,
/// copied where the kernel package has them (the guest says which it could load). TIPC's
/// diag module is `diag` in Debian's 5.10 and 6.1 packages, `tipc_diag` in 6.12's; their
/// 5.10 and 6.1 have no xsk_diag (CONFIG_XDP_SOCKETS_DIAG is off).
const FAMILY_MODULES: &[&str] = &[
    "vsock_loopback",
    "vsock_diag",
    "tipc",
    "tipc_diag",
    "xsk_diag",
];
/// Module files known by their path, where the name alone says too little.
const FAMILY_MODULE_PATHS: &[&str] = &["kernel/net/tipc/diag.ko"];
/// The programs of the tests crate the guests run: tcpend for the reasons check,
/// familysocks for the vsock, TIPC and AF_XDP sockets.
const HELPERS: &[&str] = &["tcpend", "familysocks"];
/// How long a guest may take to boot, check and power off under TCG (measured: under a
/// minute on a quiet machine, 3 minutes with the reasons check at load average ~17).
const GUEST_LIMIT: Duration = Duration::from_secs(600);

/// Where a series' packages are listed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Archive {
    /// The machine's own apt lists (Debian 12 here).
    Machine,
    /// Debian 11 (bullseye), through a private apt configuration.
    Bullseye,
}

struct Series {
    label: &'static str,
    /// `apt-cache search --names-only` pattern of the kernel packages.
    pattern: &'static str,
    archive: Archive,
}

const MATRIX: &[Series] = &[
    Series {
        label: "Debian 11 5.10",
        pattern: r"^linux-image-5\.10\.0-[0-9]+-cloud-amd64$",
        archive: Archive::Bullseye,
    },
    Series {
        label: "Debian 12 6.1",
        pattern: r"^linux-image-6\.1\.0-[0-9]+-cloud-amd64-unsigned$",
        archive: Archive::Machine,
    },
    Series {
        label: "Debian 12 6.12",
        pattern: r"^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$",
        archive: Archive::Machine,
    },
];

/// `cargo xtask kernels [SERIES...]`: every series of the matrix, or those whose label
/// ends with one of the arguments (e.g. `5.10`).
pub fn run(args: &[String]) -> Result<(), String> {
    let toolchain = bootstrap::ensure()?;
    let binary = cargo::build_release(&toolchain)?;
    check(&toolchain, &binary, args)
}

/// Boots the kernels and runs the checks with an already built `binary`.
pub fn check(toolchain: &Toolchain, binary: &Path, args: &[String]) -> Result<(), String> {
    let chosen: Vec<&Series> = MATRIX
        .iter()
        .filter(|s| args.is_empty() || args.iter().any(|a| s.label.ends_with(a.as_str())))
        .collect();
    if chosen.is_empty() {
        return Err(format!(
            "no kernel series matches {args:?} (series: {})",
            MATRIX
                .iter()
                .map(|s| s.label)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    ensure_packages()?;
    let helpers = build_helpers(toolchain, binary)?;
    let cache = cache_dir()?;
    let _only_run = lock_cache(&cache)?;
    let mut failures = Vec::new();
    for series in chosen {
        let started = Instant::now();
        match check_series(series, binary, &helpers, &cache) {
            Ok(()) => say(&format!(
                "{}: all checks passed ({:.0} s)",
                series.label,
                started.elapsed().as_secs_f64()
            )),
            Err(e) => {
                say(&format!("{}: FAILED: {e}", series.label));
                failures.push(format!("{}: {e}", series.label));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("kernel checks failed: {}", failures.join("; ")))
    }
}

/// The [`HELPERS`] (tests/src/bin): tcpend ends connections in chosen ways (SO_LINGER 0, a
/// closed port) for the reasons check, familysocks makes vsock, TIPC and AF_XDP sockets;
/// built beside `binary`.
fn build_helpers(toolchain: &Toolchain, binary: &Path) -> Result<Vec<PathBuf>, String> {
    say(&format!(
        "building the guests' helpers ({}, release)",
        HELPERS.join(", ")
    ));
    let mut args = vec!["build", "--release", "--quiet", "-p", "sockwatch-tests"];
    for helper in HELPERS {
        args.extend(["--bin", helper]);
    }
    bootstrap::run(&mut cargo::cargo(toolchain, &args))?;
    Ok(HELPERS.iter().map(|h| binary.with_file_name(h)).collect())
}

fn check_series(
    series: &Series,
    binary: &Path,
    helpers: &[PathBuf],
    cache: &Path,
) -> Result<(), String> {
    let package = newest_package(series, cache)?;
    let unpacked = unpack(&package, series, cache)?;
    let (version, vmlinuz) = kernel_of(&unpacked)?;
    say(&format!("{}: {package} ({version})", series.label));
    let initrd = build_initramfs(binary, helpers, &unpacked, &version, cache)?;
    let console = boot(
        &vmlinuz,
        &initrd,
        &cache.join(format!("{version}.console.log")),
    )?;
    judge(series, &console)
}

fn cache_dir() -> Result<PathBuf, String> {
    let home = env::var_os("HOME").ok_or("HOME is not set")?;
    let dir = PathBuf::from(home).join(".cache/sockwatch/kernels");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Holds the kernels cache for this run: two runs at once would rewrite each other's initrd
/// and console log, and their guests (software-emulated CPUs) would starve each other. A
/// second run waits, and says so.
fn lock_cache(cache: &Path) -> Result<fs::File, String> {
    let path = cache.join("run.lock");
    let lock =
        fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    if lock.try_lock().is_err() {
        say("another `cargo xtask kernels` is running: waiting for it to finish");
        lock.lock()
            .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    }
    Ok(lock)
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|paths| env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Installs the tools the guests need that the machine lacks.
fn ensure_packages() -> Result<(), String> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .filter(|(program, _)| !on_path(program))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !cargo::is_root() {
        return Err(format!(
            "the kernel checks need {} (apt-get install as root)",
            missing.join(" ")
        ));
    }
    say(&format!("installing {} with apt-get", missing.join(" ")));
    let install = |update_first: bool| -> Result<(), String> {
        if update_first {
            say("refreshing the machine's package lists (apt-get update)");
            capture(Command::new("apt-get").args(["update", "-qq"]))?;
        }
        capture(
            Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
        .map(drop)
    };
    install(false).or_else(|_| install(true))
}

/// apt-get/apt-cache for `archive`: the machine's configuration, or Debian 11's private one.
fn apt(program: &str, archive: Archive, cache: &Path) -> Result<Command, String> {
    let mut cmd = Command::new(program);
    if archive == Archive::Bullseye {
        let root = cache.join("apt-bullseye");
        for dir in ["lists/partial", "cache/archives/partial"] {
            fs::create_dir_all(root.join(dir))
                .map_err(|e| format!("cannot create {}: {e}", root.join(dir).display()))?;
        }
        let sources = root.join("sources.list");
        let (mirror, security) = machine_mirrors();
        let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
        let text = format!(
            "deb [signed-by={keyring}] {mirror} bullseye main\n\
             deb [signed-by={keyring}] {mirror} bullseye-updates main\n\
             deb [signed-by={keyring}] {security} bullseye-security main\n"
        );
        fs::write(&sources, text)
            .map_err(|e| format!("cannot write {}: {e}", sources.display()))?;
        let opt = |name: &str, value: &Path| format!("{name}={}", value.display());
        // The download runs as root: apt's _apt user could not write into the cache.
        cmd.args(["-o", "APT::Sandbox::User=root"])
            .args(["-o", &opt("Dir::Etc::SourceList", &sources)])
            .args(["-o", "Dir::Etc::SourceParts=/dev/null"])
            .args(["-o", &opt("Dir::State::Lists", &root.join("lists"))])
            .args(["-o", &opt("Dir::Cache", &root.join("cache"))]);
    }
    Ok(cmd)
}

/// The Debian mirror (and its security twin) the machine's apt sources name.
fn machine_mirrors() -> (String, String) {
    let mut text = fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        for entry in dir.flatten() {
            text.push_str(&fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    // Comments may name other mirrors (e.g. snapshot.debian.org): only live lines count.
    let uris: Vec<&str> = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .filter(|w| w.starts_with("http") && w.contains("/debian"))
        .collect();
    let mirror = uris
        .iter()
        .find(|u| !u.contains("security"))
        .map_or("http://deb.debian.org/debian", |u| u.trim_end_matches('/'));
    let security = uris
        .iter()
        .find(|u| u.contains("security"))
        .map_or("http://deb.debian.org/debian-security", |u| {
            u.trim_end_matches('/')
        });
    (mirror.to_string(), security.to_string())
}

fn capture(cmd: &mut Command) -> Result<String, String> {
    let output = cmd
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            stderr.lines().last().unwrap_or("")
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The newest kernel package of `series` its archive lists.
fn newest_package(series: &Series, cache: &Path) -> Result<String, String> {
    // apt-get update only warns when a list cannot be fetched: keep its last warning for the
    // error when the search then finds nothing.
    let mut update_warning = String::new();
    if series.archive == Archive::Bullseye {
        say(&format!(
            "{}: reading Debian 11's package lists (private apt configuration)",
            series.label
        ));
        let output = apt("apt-get", Archive::Bullseye, cache)?
            .args(["update", "-qq"])
            .output()
            .map_err(|e| format!("cannot run apt-get update: {e}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if let Some(warning) = stderr.lines().rfind(|l| l.contains("Failed to fetch")) {
            update_warning = format!(" ({})", warning.trim());
        }
    }
    let search = |cache: &Path| -> Result<Vec<String>, String> {
        let listed = capture(apt("apt-cache", series.archive, cache)?.args([
            "search",
            "--names-only",
            series.pattern,
        ]))?;
        Ok(listed
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect())
    };
    let mut names = search(cache)?;
    if names.is_empty() && series.archive == Archive::Machine && cargo::is_root() {
        say("refreshing the machine's package lists (apt-get update)");
        capture(Command::new("apt-get").args(["update", "-qq"]))?;
        names = search(cache)?;
    }
    names
        .into_iter()
        .max_by_key(|name| version_key(name))
        .ok_or_else(|| {
            format!(
                "the mirror has no {} kernel (no package matches {}){update_warning}",
                series.label, series.pattern
            )
        })
}

/// The numbers in a package name, for comparing versions (6.1.0-9 < 6.1.0-48).
fn version_key(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .filter_map(|part| part.parse().ok())
        .collect()
}

/// Downloads (once) and unpacks `package`; returns the folder it was unpacked into.
fn unpack(package: &str, series: &Series, cache: &Path) -> Result<PathBuf, String> {
    let unpacked = cache.join(package);
    if unpacked.join("boot").is_dir() {
        return Ok(unpacked);
    }
    let downloads = cache.join("debs");
    fs::create_dir_all(&downloads)
        .map_err(|e| format!("cannot create {}: {e}", downloads.display()))?;
    say(&format!("{}: downloading {package}", series.label));
    capture(
        apt("apt-get", series.archive, cache)?
            .current_dir(&downloads)
            .args(["download", "-qq", package]),
    )?;
    let deb = fs::read_dir(&downloads)
        .map_err(|e| format!("cannot list {}: {e}", downloads.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .ok_or_else(|| format!("apt-get download left no {package} package"))?;
    say(&format!("{}: unpacking {}", series.label, deb.display()));
    let partial = cache.join(format!("{package}.partial"));
    let _ = fs::remove_dir_all(&partial);
    bootstrap::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&partial))?;
    fs::rename(&partial, &unpacked)
        .map_err(|e| format!("cannot rename {}: {e}", partial.display()))?;
    Ok(unpacked)
}

/// The kernel's release and its vmlinuz in an unpacked package.
fn kernel_of(unpacked: &Path) -> Result<(String, PathBuf), String> {
    let boot = unpacked.join("boot");
    let entries =
        fs::read_dir(&boot).map_err(|e| format!("cannot list {}: {e}", boot.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(version) = name.strip_prefix("vmlinuz-") {
            return Ok((version.to_string(), entry.path()));
        }
    }
    Err(format!("no vmlinuz in {}", boot.display()))
}

/// A busybox initramfs with sockwatch, ss, the helpers, their libraries, the diag and family
/// modules and the init.
fn build_initramfs(
    binary: &Path,
    helpers: &[PathBuf],
    unpacked: &Path,
    version: &str,
    cache: &Path,
) -> Result<PathBuf, String> {
    let root = cache.join(format!("{version}.root"));
    let _ = fs::remove_dir_all(&root);
    for dir in [
        "bin",
        "sbin",
        "proc",
        "sys",
        "dev",
        "tmp",
        "etc",
        "lib/modules",
    ] {
        fs::create_dir_all(root.join(dir)).map_err(|e| format!("cannot create {dir}: {e}"))?;
    }
    let busybox = which("busybox")?;
    copy(&busybox, &root.join("bin/busybox"))?;
    copy(binary, &root.join("bin/sockwatch"))?;
    for helper in helpers {
        let name = helper.file_name().ok_or("a helper without a file name")?;
        copy(helper, &root.join("bin").join(name))?;
    }
    let ss = which("ss")?;
    copy(&ss, &root.join("bin/ss"))?;
    let programs = [binary, ss.as_path()]
        .into_iter()
        .chain(helpers.iter().map(PathBuf::as_path));
    for program in programs {
        for library in shared_libraries(program)? {
            let inside = root.join(library.strip_prefix("/").unwrap_or(&library));
            copy(&library, &inside)?;
        }
    }
    copy_modules(unpacked, version, &root)?;
    let init = root.join("init");
    fs::write(&init, GUEST_INIT).map_err(|e| format!("cannot write the init: {e}"))?;
    set_executable(&init)?;
    // ss and sockwatch look names up; a minimal passwd keeps root's name.
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").map_err(|e| e.to_string())?;

    let initrd = cache.join(format!("{version}.initrd.cpio"));
    let script = format!(
        "cd '{}' && find . | cpio --quiet -o -H newc > '{}'",
        root.display(),
        initrd.display()
    );
    bootstrap::run(Command::new("sh").args(["-c", &script]))?;
    Ok(initrd)
}

fn which(program: &str) -> Result<PathBuf, String> {
    env::var_os("PATH")
        .and_then(|paths| {
            env::split_paths(&paths)
                .map(|d| d.join(program))
                .find(|p| p.is_file())
        })
        .ok_or_else(|| format!("{program} is not installed"))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn set_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("cannot chmod {}: {e}", path.display()))
}

/// The shared libraries `program` loads (ldd's absolute paths, the loader included).
fn shared_libraries(program: &Path) -> Result<Vec<PathBuf>, String> {
    let listed = capture(Command::new("ldd").arg(program))?;
    Ok(listed
        .lines()
        .filter_map(|line| line.split_whitespace().find(|w| w.starts_with('/')))
        .map(PathBuf::from)
        .collect())
}

/// The diag modules and what they depend on, and those of [`FAMILY_MODULES`] the package
/// has, decompressed, with a fresh modules.dep.
fn copy_modules(unpacked: &Path, version: &str, root: &Path) -> Result<(), String> {
    let from = unpacked.join("lib/modules").join(version);
    let deps_file = from.join("modules.dep");
    if !deps_file.is_file() {
        // Packages leave modules.dep to be made at install.
        bootstrap::run(Command::new("depmod").arg("-b").arg(unpacked).arg(version))?;
    }
    let deps = fs::read_to_string(&deps_file)
        .map_err(|e| format!("cannot read {}: {e}", deps_file.display()))?;
    let mut wanted: Vec<String> = Vec::new();
    let line_of = |module: &str| {
        deps.lines().find(|l| {
            let path = l.split(':').next().unwrap_or("");
            module_name(path) == module
        })
    };
    let mut lines = Vec::new();
    for module in DIAG_MODULES {
        lines.push(
            line_of(module).ok_or_else(|| format!("the kernel package has no {module} module"))?,
        );
    }
    lines.extend(FAMILY_MODULES.iter().filter_map(|module| line_of(module)));
    lines.extend(deps.lines().filter(|l| {
        let path = l.split(':').next().unwrap_or("");
        FAMILY_MODULE_PATHS.iter().any(|p| path.starts_with(p))
    }));
    for line in lines {
        let (path, needs) = line.split_once(':').unwrap_or((line, ""));
        for file in std::iter::once(path).chain(needs.split_whitespace()) {
            if !wanted.iter().any(|w| w == file) {
                wanted.push(file.to_string());
            }
        }
    }
    let to = root.join("lib/modules").join(version);
    for file in &wanted {
        let source = from.join(file);
        let plain = file
            .trim_end_matches(".xz")
            .trim_end_matches(".zst")
            .trim_end_matches(".gz");
        let target = to.join(plain);
        fs::create_dir_all(target.parent().expect("module path has a folder"))
            .map_err(|e| format!("cannot create the modules folder: {e}"))?;
        let decompress = match Path::new(file).extension().and_then(|e| e.to_str()) {
            Some("xz") => Some("xz"),
            Some("zst") => Some("zstd"),
            Some("gz") => Some("gzip"),
            _ => None,
        };
        match decompress {
            Some(tool) => {
                let out = fs::File::create(&target)
                    .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
                bootstrap::run(Command::new(tool).arg("-dc").arg(&source).stdout(out))?;
            }
            None => copy(&source, &target)?,
        }
    }
    for extra in [
        "modules.order",
        "modules.builtin",
        "modules.builtin.modinfo",
    ] {
        if from.join(extra).is_file() {
            copy(&from.join(extra), &to.join(extra))?;
        }
    }
    bootstrap::run(Command::new("depmod").arg("-b").arg(root).arg(version))
}

/// `kernel/net/ipv4/tcp_diag.ko.xz` -> `tcp_diag`.
fn module_name(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split(".ko").next().unwrap_or(file)
}

/// Boots the guest under QEMU's software emulation; returns its console output (also kept in
/// `log`).
fn boot(vmlinuz: &Path, initrd: &Path, log: &Path) -> Result<String, String> {
    say(&format!("booting {} under QEMU (TCG)", vmlinuz.display()));
    let console =
        fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut child = Command::new("qemu-system-x86_64")
        .args([
            // One host thread runs both virtual CPUs in turn. With a thread each, a CPU can
            // run stale translated code while the other patches the kernel's text (attaching
            // a tracepoint flips static keys through int3): the guests died of an `Oops: int3`
            // in syscall_exit_to_user_mode_prepare, or hung with RCU stalls and soft lockups
            // on both CPUs, now and then (a few runs in every few dozen).
            "-accel",
            "tcg,thread=single",
            "-cpu",
            "max",
            "-smp",
            "2",
            "-m",
            "1024",
        ])
        .args(["-nographic", "-no-reboot", "-kernel"])
        .arg(vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 panic=-1 quiet rdinit=/init"])
        .stdin(Stdio::null())
        .stdout(console)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        if started.elapsed() > GUEST_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = fs::read(log).map_err(|e| format!("cannot read {}: {e}", log.display()))?;
    let output = String::from_utf8_lossy(&output).replace('\r', "");
    match status {
        None => Err(format!(
            "the guest did not power off within {} s (console: {}); its last lines:\n{}",
            GUEST_LIMIT.as_secs(),
            log.display(),
            console_tail(&output)
        )),
        Some(status) if !status.success() => {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            Err(format!(
                "qemu failed ({status}): {} (console: {})",
                stderr.lines().last().unwrap_or(""),
                log.display()
            ))
        }
        Some(_) => Ok(output),
    }
}

/// The end of a guest's console, without the decoders' capture lines: what a hung guest's
/// kernel last reported (stall and lockup traces) and which check it was in.
fn console_tail(console: &str) -> String {
    let lines: Vec<&str> = console
        .lines()
        .filter(|l| !l.starts_with("sockwatch-capture:"))
        .collect();
    lines[lines.len().saturating_sub(40)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prints the guest's check lines; Ok when it finished and every check passed.
fn judge(series: &Series, console: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    let mut failed = Vec::new();
    for line in console.lines() {
        if let Some(check) = line.strip_prefix("sockwatch-check: ") {
            let _ = writeln!(out, "  {}: {check}", series.label);
            if let Some(what) = check.strip_prefix("FAIL ") {
                failed.push(what.to_string());
            }
        } else if let Some(note) = line.strip_prefix("sockwatch-guest: ") {
            let _ = writeln!(out, "  {}: {note}", series.label);
        }
    }
    if !console
        .lines()
        .any(|l| l.starts_with("sockwatch-checks: done"))
    {
        let tail: Vec<&str> = console.lines().rev().take(5).collect();
        return Err(format!(
            "the guest stopped before its checks finished; console ends: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} check(s) failed: {}",
            failed.len(),
            failed.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_package_by_numbers() {
        let names = [
            "linux-image-6.1.0-9-cloud-amd64-unsigned",
            "linux-image-6.1.0-48-cloud-amd64-unsigned",
            "linux-image-6.1.0-10-cloud-amd64-unsigned",
        ];
        let newest = names.iter().max_by_key(|n| version_key(n));
        assert_eq!(newest, Some(&"linux-image-6.1.0-48-cloud-amd64-unsigned"));
        assert_eq!(module_name("kernel/net/ipv4/tcp_diag.ko.xz"), "tcp_diag");
        assert_eq!(module_name("kernel/net/core/sock_diag.ko"), "sock_diag");
    }
}
