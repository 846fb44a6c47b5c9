//! Measuring launcher: `rusage PROGRAM [ARGS...]` runs PROGRAM as its child and, when it ends,
//! appends one line to standard error:
//! `rusage: wall_ns=N user_us=N system_us=N max_rss_kib=N status=CODE` (or `signal=N`).
//!
//! Why a launcher: the kernel counts into a process's peak RSS (ru_maxrss) the resident set of
//! the process it was forked from, up to exec. Forked from the bench, whose memory grows with
//! what it keeps, a 3 MiB tool would show the bench's size; forked from this small program it
//! shows its own. Wall time is taken here too, from spawn to reap, without the launcher's own
//! start. SIGINT and SIGTERM are passed on to the child, so `kill -INT` on the launcher stops
//! the tool as Ctrl-C would; if the launcher dies, SIGKILL ends the child too
//! (PR_SET_PDEATHSIG). Exits with the child's status (128 + signal when killed).

use std::{
    io::Write,
    os::unix::process::CommandExt,
    process::Command,
    sync::atomic::{AtomicI32, Ordering},
    time::Instant,
};

/// The child's pid once spawned; 0 before (a signal then is not passed on: kill(0) would hit
/// the whole process group).
static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn pass_on(signal: libc::c_int) {
    let child = CHILD.load(Ordering::Relaxed);
    if child > 0 {
        // SAFETY: kill is async-signal-safe; the child is unreaped, so its pid is not reused.
        unsafe { libc::kill(child, signal) };
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: rusage PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only reads an atomic and calls kill.
        unsafe { libc::signal(signal, pass_on as *const () as libc::sighandler_t) };
    }
    let started = Instant::now();
    let mut command = Command::new(&program);
    command.args(args);
    // SAFETY: prctl is async-signal-safe and takes no pointers.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("rusage: cannot start {}: {e}", program.to_string_lossy());
            std::process::exit(127);
        }
    };
    let pid = child.id() as libc::pid_t;
    CHILD.store(pid, Ordering::Relaxed);

    let mut status = 0;
    // SAFETY: rusage is plain old data; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes into the two locals passed by pointer.
        if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } == pid {
            break;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            eprintln!("rusage: wait4: {}", std::io::Error::last_os_error());
            std::process::exit(1);
        }
    }
    let wall = started.elapsed();
    let micros = |tv: libc::timeval| tv.tv_sec * 1_000_000 + tv.tv_usec;
    let (ending, code) = if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        (format!("signal={signal}"), 128 + signal)
    } else {
        let code = libc::WEXITSTATUS(status);
        (format!("status={code}"), code)
    };
    let _ = writeln!(
        std::io::stderr(),
        "rusage: wall_ns={} user_us={} system_us={} max_rss_kib={} {ending}",
        wall.as_nanos(),
        micros(usage.ru_utime),
        micros(usage.ru_stime),
        usage.ru_maxrss,
    );
    std::process::exit(code);
}
