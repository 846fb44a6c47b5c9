//! Turning the kernel's CLOCK_MONOTONIC event times into wall-clock times.

/// The offset between CLOCK_REALTIME and CLOCK_MONOTONIC, taken once at start.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    realtime_minus_monotonic_ns: i128,
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

impl WallClock {
    pub fn now() -> WallClock {
        WallClock {
            realtime_minus_monotonic_ns: clock_ns(libc::CLOCK_REALTIME)
                - clock_ns(libc::CLOCK_MONOTONIC),
        }
    }

    /// A clock with a recorded offset (replays print the times of the live run).
    pub fn from_offset(realtime_minus_monotonic_ns: i64) -> WallClock {
        WallClock {
            realtime_minus_monotonic_ns: i128::from(realtime_minus_monotonic_ns),
        }
    }

    pub fn offset_ns(&self) -> i64 {
        self.realtime_minus_monotonic_ns as i64
    }

    /// Current CLOCK_MONOTONIC time, ns: the clock of `bpf_ktime_get_ns()`.
    pub fn monotonic_ns() -> u64 {
        clock_ns(libc::CLOCK_MONOTONIC) as u64
    }

    /// Local time of day `HH:MM:SS.micros` for a monotonic timestamp.
    pub fn format(&self, monotonic_ns: u64) -> String {
        let real_ns = i128::from(monotonic_ns) + self.realtime_minus_monotonic_ns;
        let secs = (real_ns / 1_000_000_000) as libc::time_t;
        let micros = (real_ns % 1_000_000_000) / 1000;
        // SAFETY: localtime_r fills the tm we own from a valid time_t.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        unsafe { libc::localtime_r(&secs, &mut tm) };
        format!(
            "{:02}:{:02}:{:02}.{:06}",
            tm.tm_hour, tm.tm_min, tm.tm_sec, micros
        )
    }
}
