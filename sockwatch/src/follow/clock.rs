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

    /// Seconds since the epoch and microseconds within the second.
    fn split(&self, monotonic_ns: u64) -> (i64, u32) {
        let real_ns = i128::from(monotonic_ns) + self.realtime_minus_monotonic_ns;
        (
            real_ns.div_euclid(1_000_000_000) as i64,
            (real_ns.rem_euclid(1_000_000_000) / 1000) as u32,
        )
    }

    /// Local `HH:MM:SS` of an epoch second.
    fn hms(secs: i64) -> (i32, i32, i32) {
        let secs = secs as libc::time_t;
        // SAFETY: localtime_r fills the tm we own from a valid time_t.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        unsafe { libc::localtime_r(&secs, &mut tm) };
        (tm.tm_hour, tm.tm_min, tm.tm_sec)
    }

    /// Appends the wall-clock time of a monotonic timestamp as RFC 3339 UTC with
    /// microseconds, `2026-12-06T14:20:45.123456Z` (JSON's `time`).
    pub fn push_rfc3339(&self, buf: &mut Vec<u8>, monotonic_ns: u64) {
        let (secs, micros) = self.split(monotonic_ns);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let second_of_day = secs.rem_euclid(86_400);
        push_digits(buf, year, 4);
        buf.push(b'-');
        push_digits(buf, month, 2);
        buf.push(b'-');
        push_digits(buf, day, 2);
        buf.push(b'T');
        push_digits(buf, second_of_day / 3600, 2);
        buf.push(b':');
        push_digits(buf, second_of_day / 60 % 60, 2);
        buf.push(b':');
        push_digits(buf, second_of_day % 60, 2);
        buf.push(b'.');
        push_digits(buf, i64::from(micros), 6);
        buf.push(b'Z');
    }

    /// Local time of day `HH:MM:SS.micros` for a monotonic timestamp.
    pub fn format(&self, monotonic_ns: u64) -> String {
        let mut text = TimeText::new(*self);
        let mut buf = Vec::with_capacity(15);
        text.push(&mut buf, monotonic_ns);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Year, month (1-12) and day (1-31) of a day counted from 1970-01-01 in the proleptic
/// Gregorian calendar (H. Hinnant's days-to-civil algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Appends `value` in decimal, zero-padded to `width` digits.
fn push_digits(buf: &mut Vec<u8>, value: i64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut rest = value.unsigned_abs();
    let mut len = 0;
    while rest > 0 || len < width {
        digits[digits.len() - 1 - len] = b'0' + (rest % 10) as u8;
        rest /= 10;
        len += 1;
    }
    buf.extend_from_slice(&digits[digits.len() - len..]);
}

/// Writes RFC 3339 UTC times for many events: the date and time of day are computed once a
/// second.
pub struct UtcText {
    clock: WallClock,
    second: Option<i64>,
    /// `YYYY-MM-DDTHH:MM:SS.` of `second`.
    prefix: Vec<u8>,
}

impl UtcText {
    pub fn new(clock: WallClock) -> UtcText {
        UtcText {
            clock,
            second: None,
            prefix: Vec::with_capacity(32),
        }
    }

    /// Appends [`WallClock::push_rfc3339`]'s text.
    pub fn push(&mut self, buf: &mut Vec<u8>, monotonic_ns: u64) {
        let (secs, micros) = self.clock.split(monotonic_ns);
        if self.second != Some(secs) {
            self.prefix.clear();
            self.clock.push_rfc3339(&mut self.prefix, monotonic_ns);
            // Keep `...SS.`: drop the six digits and the Z.
            self.prefix.truncate(self.prefix.len() - 7);
            self.second = Some(secs);
        }
        buf.extend_from_slice(&self.prefix);
        push_digits(buf, i64::from(micros), 6);
        buf.push(b'Z');
    }
}

/// Writes times of day for many events: the time zone is consulted once a second.
pub struct TimeText {
    clock: WallClock,
    second: Option<i64>,
    prefix: [u8; 9],
}

impl TimeText {
    pub fn new(clock: WallClock) -> TimeText {
        TimeText {
            clock,
            second: None,
            prefix: *b"00:00:00.",
        }
    }

    /// Appends `HH:MM:SS.micros`.
    pub fn push(&mut self, buf: &mut Vec<u8>, monotonic_ns: u64) {
        let (secs, micros) = self.clock.split(monotonic_ns);
        if self.second != Some(secs) {
            let (h, m, s) = WallClock::hms(secs);
            let two = |v: i32| [b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8];
            self.prefix[..2].copy_from_slice(&two(h));
            self.prefix[3..5].copy_from_slice(&two(m));
            self.prefix[6..8].copy_from_slice(&two(s));
            self.second = Some(secs);
        }
        buf.extend_from_slice(&self.prefix);
        let mut digits = [b'0'; 6];
        let mut rest = micros;
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        buf.extend_from_slice(&digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_share_the_second_prefix() {
        let clock = WallClock::from_offset(0);
        let mut text = TimeText::new(clock);
        let mut buf = Vec::new();
        text.push(&mut buf, 1_000_000_000 * 3600 + 5_000);
        let first = String::from_utf8(buf.clone()).expect("ASCII");
        assert_eq!(first.len(), 15);
        assert!(first.ends_with(".000005"), "{first}");
        buf.clear();
        text.push(&mut buf, 1_000_000_000 * 3600 + 999_999_000);
        assert!(String::from_utf8(buf).expect("ASCII").ends_with(".999999"));
        assert_eq!(clock.format(1_000_000_000 * 3600 + 5_000), first);
    }

    #[test]
    fn rfc3339_in_utc_with_microseconds() {
        let rfc3339 = |offset_ns: i64, ns: u64| {
            let mut buf = Vec::new();
            WallClock::from_offset(offset_ns).push_rfc3339(&mut buf, ns);
            String::from_utf8(buf).expect("ASCII")
        };
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000Z");
        // date -u -d @1796566845 +%FT%T: 2026-12-06T14:20:45
        assert_eq!(
            rfc3339(1_796_566_845_000_000_000, 123_456_789),
            "2026-12-06T14:20:45.123456Z"
        );
        assert_eq!(
            rfc3339(951_782_400_000_000_000, 0),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            rfc3339(4_107_542_399_000_000_000, 999_999_999),
            "2100-02-28T23:59:59.999999Z"
        );
        let clock = WallClock::from_offset(1_796_566_845_000_000_000);
        let mut utc = UtcText::new(clock);
        for ns in [123_456_789, 999_999_999, 1_000_000_001, 5] {
            let mut cached = Vec::new();
            utc.push(&mut cached, ns);
            let mut direct = Vec::new();
            clock.push_rfc3339(&mut direct, ns);
            assert_eq!(cached, direct);
        }
    }
}
