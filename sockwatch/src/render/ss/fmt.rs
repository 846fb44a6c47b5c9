//! printf-exact text for the numbers and addresses ss prints, appended to byte buffers
//! without allocating: integers, C's `%g`, ss's timer and bit rate formats, and IPv6
//! addresses as glibc's inet_ntop writes them.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::escape::HEX_DIGITS;

/// Appends `v` in decimal.
pub fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    // Two digits per division.
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + v as u8;
    }
    buf.extend_from_slice(&digits[at..]);
}

/// Appends `v` in decimal with a leading `-` when negative.
pub fn push_i64(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_u64(buf, v.unsigned_abs());
}

/// Appends `v` in lower-case hex without prefix (`%x`, `%llx`).
pub fn push_hex(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = HEX_DIGITS[(v & 0xf) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
}

/// Appends `v` left-justified in at least `width` characters (`%-6d`).
pub fn push_i64_left(buf: &mut Vec<u8>, v: i64, width: usize) {
    let start = buf.len();
    push_i64(buf, v);
    let used = buf.len() - start;
    if used < width {
        buf.resize(start + width, b' ');
    }
}

/// A small stack buffer for text that must be inspected before it is appended.
struct Scratch {
    bytes: [u8; 64],
    len: usize,
}

impl Scratch {
    fn new() -> Self {
        Scratch {
            bytes: [0; 64],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl std::fmt::Write for Scratch {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dest = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends `v` as C's `printf("%.*g", precision, v)` does.
pub fn push_g(buf: &mut Vec<u8>, v: f64, precision: usize) {
    use std::fmt::Write as _;

    if !v.is_finite() {
        let text: &[u8] = match (v.is_nan(), v < 0.0) {
            (true, _) => b"nan",
            (false, true) => b"-inf",
            (false, false) => b"inf",
        };
        buf.extend_from_slice(text);
        return;
    }
    let precision = precision.max(1);
    // %g's digits are those of `v` rounded to `precision` significant digits, in exponent
    // form. When the shortest text that reads back as `v` has no more digits, it is that
    // rounding (for precisions a double always holds, up to 15), and much cheaper to get.
    let mut exp_form = Scratch::new();
    let short = precision <= 15
        && write!(exp_form, "{v:e}").is_ok()
        && significant_digits(exp_form.as_bytes()) <= precision;
    if !short {
        exp_form = Scratch::new();
        if write!(exp_form, "{:.*e}", precision - 1, v).is_err() {
            return;
        }
    }
    let text = exp_form.as_bytes();
    let Some(e_at) = text.iter().position(|&b| b == b'e') else {
        return;
    };
    let exponent: i32 = std::str::from_utf8(&text[e_at + 1..])
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    let mantissa = trim_fraction(&text[..e_at]);
    if exponent < -4 || exponent >= precision as i32 {
        buf.extend_from_slice(mantissa);
        buf.push(b'e');
        buf.push(if exponent < 0 { b'-' } else { b'+' });
        if exponent.unsigned_abs() < 10 {
            buf.push(b'0');
        }
        push_u64(buf, u64::from(exponent.unsigned_abs()));
    } else {
        push_positional(buf, mantissa, exponent);
    }
}

/// How many digits the mantissa of an exponent-form number (`-1.25e3`) has.
fn significant_digits(exp_form: &[u8]) -> usize {
    exp_form
        .iter()
        .take_while(|&&b| b != b'e')
        .filter(|b| b.is_ascii_digit())
        .count()
}

/// Appends the number `mantissa` (`-d.ddd`, no trailing zeros) times 10^`exponent` without
/// an exponent: %g's style f, which shows the same digits.
fn push_positional(buf: &mut Vec<u8>, mantissa: &[u8], exponent: i32) {
    let digits = match mantissa.split_first() {
        Some((b'-', rest)) => {
            buf.push(b'-');
            rest
        }
        _ => mantissa,
    };
    let digits = digits.iter().copied().filter(u8::is_ascii_digit);
    match usize::try_from(exponent) {
        Ok(exponent) => {
            let whole = exponent + 1;
            let start = buf.len();
            buf.extend(digits);
            let fraction = (buf.len() - start).saturating_sub(whole);
            if fraction > 0 {
                buf.insert(buf.len() - fraction, b'.');
            } else {
                buf.resize(start + whole, b'0');
            }
        }
        Err(_) => {
            buf.extend_from_slice(b"0.");
            buf.extend(std::iter::repeat_n(b'0', (-exponent - 1) as usize));
            buf.extend(digits);
        }
    }
}

/// Appends `micros / 1000.0` as `%g`. Most values have at most six significant digits,
/// where %g prints the exact decimal; those skip the floating point formatting.
pub fn push_millis(buf: &mut Vec<u8>, micros: u32) {
    let mut significant = micros;
    while significant != 0 && significant.is_multiple_of(10) {
        significant /= 10;
    }
    if significant >= 1_000_000 || micros >= 1_000_000_000 {
        push_g(buf, f64::from(micros) / 1000.0, 6);
        return;
    }
    push_u64(buf, u64::from(micros / 1000));
    let mut fraction = micros % 1000;
    if fraction != 0 {
        buf.push(b'.');
        let mut digits = 3;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            digits -= 1;
        }
        let start = buf.len();
        push_u64(buf, u64::from(fraction));
        let zeros = digits - (buf.len() - start);
        buf.splice(start..start, std::iter::repeat_n(b'0', zeros));
    }
}

/// Drops trailing zeros of a fraction, and the point when nothing is left after it.
fn trim_fraction(text: &[u8]) -> &[u8] {
    if !text.contains(&b'.') {
        return text;
    }
    let mut end = text.len();
    while end > 0 && text[end - 1] == b'0' {
        end -= 1;
    }
    if end > 0 && text[end - 1] == b'.' {
        end -= 1;
    }
    &text[..end]
}

/// Appends `v` with a fixed number of decimals (`%.0f`, `%.1f`).
pub fn push_fixed(buf: &mut Vec<u8>, v: f64, decimals: usize) {
    // Writing to a Vec cannot fail.
    let _ = write!(buf, "{v:.decimals$}");
}

/// Appends a timer's time left as ss's print_ms_timer writes it (`119min`, `59sec`, `1.500ms`,
/// `304ms`): minutes, then seconds (followed by `.` when milliseconds follow, `sec` otherwise),
/// then zero-padded milliseconds; minutes drop the milliseconds, ten or more minutes also the
/// seconds, ten or more seconds the milliseconds.
pub fn push_ms_timer(buf: &mut Vec<u8>, timeout_ms: u32) {
    let mut secs = timeout_ms / 1000;
    let minutes = secs / 60;
    secs %= 60;
    let mut msecs = timeout_ms % 1000;
    if minutes != 0 {
        msecs = 0;
        push_u64(buf, u64::from(minutes));
        buf.extend_from_slice(b"min");
        if minutes > 9 {
            secs = 0;
        }
    }
    if secs != 0 {
        if secs > 9 {
            msecs = 0;
        }
        push_u64(buf, u64::from(secs));
        buf.extend_from_slice(if msecs != 0 { b"." } else { b"sec" });
    }
    if msecs != 0 {
        // %03d
        if msecs < 100 {
            buf.push(b'0');
        }
        if msecs < 10 {
            buf.push(b'0');
        }
        push_u64(buf, u64::from(msecs));
        buf.extend_from_slice(b"ms");
    }
}

/// Appends a bit rate as ss's sprint_bw: exact with -n, else three significant digits with
/// a k/M/G/T suffix.
pub fn push_bw(buf: &mut Vec<u8>, bits_per_sec: f64, numeric: bool) {
    const UNITS: [(f64, u8); 4] = [(1e12, b'T'), (1e9, b'G'), (1e6, b'M'), (1e3, b'k')];
    if numeric {
        // Whole numbers below 2^53 are exact in a double: print them as integers.
        if bits_per_sec.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&bits_per_sec) {
            push_u64(buf, bits_per_sec as u64);
        } else {
            push_fixed(buf, bits_per_sec, 0);
        }
        return;
    }
    for (scale, suffix) in UNITS {
        if bits_per_sec >= scale {
            push_g(buf, bits_per_sec / scale, 3);
            buf.push(suffix);
            return;
        }
    }
    push_g(buf, bits_per_sec, 6);
}

/// An IP address as ss writes it numerically: IPv4 dotted (the wildcard as `0.0.0.0`), the
/// IPv6 wildcard as `*` unless the socket is IPv6-only, other IPv6 addresses in brackets.
/// Shared with follow's text views.
pub fn push_ip(buf: &mut Vec<u8>, addr: IpAddr, v6only: bool) {
    match addr {
        IpAddr::V4(v4) => push_ipv4(buf, v4),
        IpAddr::V6(v6) if v6.is_unspecified() && !v6only => buf.push(b'*'),
        IpAddr::V6(v6) => {
            buf.push(b'[');
            push_ipv6(buf, v6);
            buf.push(b']');
        }
    }
}

pub fn push_ipv4(buf: &mut Vec<u8>, addr: Ipv4Addr) {
    // Built on the stack and appended at once: two addresses a socket, in every listing.
    let mut text = [0u8; 15];
    let mut len = 0;
    for (i, octet) in addr.octets().into_iter().enumerate() {
        if i > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    buf.extend_from_slice(&text[..len]);
}

/// Appends an IPv6 address as glibc's inet_ntop: the first longest run of two or more zero
/// groups becomes `::`, and IPv4-mapped and IPv4-compatible addresses end in dotted quad.
pub fn push_ipv6(buf: &mut Vec<u8>, addr: Ipv6Addr) {
    let words = addr.segments();
    let (mut best_start, mut best_len) = (usize::MAX, 0);
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                (best_start, best_len) = (start, i - start);
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_start = usize::MAX;
    }
    let in_run =
        |i: usize| best_start != usize::MAX && i >= best_start && i < best_start + best_len;
    for i in 0..8 {
        if in_run(i) {
            if i == best_start {
                buf.push(b':');
            }
            continue;
        }
        if i != 0 {
            buf.push(b':');
        }
        if i == 6 && best_start == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)) {
            let [.., a, b, c, d] = addr.octets();
            push_ipv4(buf, Ipv4Addr::new(a, b, c, d));
            return;
        }
        push_hex(buf, u64::from(words[i]));
    }
    if best_start != usize::MAX && best_start + best_len == 8 {
        buf.push(b':');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut buf = Vec::new();
        f(&mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn integers() {
        assert_eq!(text(|b| push_u64(b, 0)), "0");
        for v in [7, 10, 99, 100, 101, 12345, 1_000_000] {
            assert_eq!(text(|b| push_u64(b, v)), v.to_string());
        }
        assert_eq!(text(|b| push_u64(b, u64::MAX)), "18446744073709551615");
        assert_eq!(text(|b| push_i64(b, -42)), "-42");
        assert_eq!(text(|b| push_i64(b, i64::MIN)), "-9223372036854775808");
        assert_eq!(text(|b| push_hex(b, 0x1d4d3)), "1d4d3");
        assert_eq!(text(|b| push_hex(b, 0)), "0");
        assert_eq!(text(|b| push_i64_left(b, 5, 6)), "5     ");
        assert_eq!(text(|b| push_i64_left(b, 2174976, 6)), "2174976");
    }

    #[test]
    fn g_format_matches_printf() {
        let cases: &[(f64, usize, &str)] = &[
            (0.0, 6, "0"),
            (204.0, 6, "204"),
            (0.05, 6, "0.05"),
            (5.149, 6, "5.149"),
            (10.293, 6, "10.293"),
            (0.003, 6, "0.003"),
            (0.0001, 6, "0.0001"),
            (0.00001, 6, "1e-05"),
            (4294967.295, 6, "4.29497e+06"),
            (123456.5, 6, "123456"),
            (999999.5, 6, "1e+06"),
            (2.88671875, 6, "2.88672"),
            (1.0, 6, "1"),
            (372.36328, 3, "372"),
            (19.091862, 3, "19.1"),
            (1.0, 3, "1"),
            (999.9, 3, "1e+03"),
            (1e100, 6, "1e+100"),
        ];
        for &(v, p, want) in cases {
            assert_eq!(text(|b| push_g(b, v, p)), want, "{v} %.{p}g");
        }
    }

    /// C's own `%.*g` of `v`.
    fn printf_g(v: f64, precision: usize) -> String {
        let mut out = [0u8; 64];
        let precision = libc::c_int::try_from(precision).unwrap();
        // SAFETY: the format takes an int and a double, as passed; snprintf writes at most
        // out.len() bytes, NUL included.
        let len = unsafe {
            libc::snprintf(
                out.as_mut_ptr().cast(),
                out.len(),
                c"%.*g".as_ptr(),
                precision,
                v,
            )
        };
        String::from_utf8(out[..usize::try_from(len).unwrap()].to_vec()).unwrap()
    }

    #[test]
    fn g_format_matches_libc() {
        // Gains in 1/256ths (bbr), rates, ties at the rounding digit, and a spread of
        // magnitudes from a simple generator.
        let mut values: Vec<f64> = (0..2048).map(|n| f64::from(n) / 256.0).collect();
        values.extend([
            0.5, 1.5, 2.5, 0.125, 123456.5, 999999.5, 1e15, 1e16, 1e-7, -0.0,
        ]);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mantissa = (x >> 11) as f64 / (1u64 << 53) as f64;
            let exponent = (x % 40) as i32 - 20;
            values.push(mantissa * 10f64.powi(exponent));
            values.push(-((x % 100_000) as f64) / 1000.0);
        }
        for v in values {
            for precision in [1, 3, 6, 15, 17] {
                assert_eq!(
                    text(|b| push_g(b, v, precision)),
                    printf_g(v, precision),
                    "{v:e} %.{precision}g"
                );
            }
        }
    }

    #[test]
    fn millis_match_g() {
        for micros in [
            0,
            1,
            3,
            10,
            50,
            999,
            1000,
            1001,
            5149,
            10293,
            204_000,
            999_999,
            1_000_000,
            1_234_567,
            9_999_995,
            123_456_000,
            999_999_999,
            1_000_000_000,
            4_294_967_295,
        ] {
            let mut want = Vec::new();
            push_g(&mut want, f64::from(micros) / 1000.0, 6);
            assert_eq!(
                text(|b| push_millis(b, micros)),
                String::from_utf8(want).unwrap()
            );
        }
    }

    #[test]
    fn timers() {
        let cases: &[(u32, &str)] = &[
            (0, ""),
            (304, "304ms"),
            (5, "005ms"),
            (1500, "1.500ms"),
            (9001, "9.001ms"),
            (59000, "59sec"),
            (59999, "59sec"),
            (10500, "10sec"),
            (7_140_000, "119min"),
            (61_500, "1min1sec"),
            (60_000, "1min"),
            (600_500, "10min"),
        ];
        for &(ms, want) in cases {
            assert_eq!(text(|b| push_ms_timer(b, ms)), want, "{ms}ms");
        }
    }

    #[test]
    fn bit_rates() {
        assert_eq!(text(|b| push_bw(b, 372363280.0, false)), "372M");
        assert_eq!(text(|b| push_bw(b, 372363280.0, true)), "372363280");
        assert_eq!(text(|b| push_bw(b, 873093333333.3, false)), "873G");
        assert_eq!(text(|b| push_bw(b, 2495171132000.0, false)), "2.5T");
        assert_eq!(text(|b| push_bw(b, 19091862.0, false)), "19.1M");
        assert_eq!(text(|b| push_bw(b, 1500.0, false)), "1.5k");
        assert_eq!(text(|b| push_bw(b, 999.0, false)), "999");
        assert_eq!(text(|b| push_bw(b, 0.0, false)), "0");
        assert_eq!(text(|b| push_bw(b, 2.5, true)), "2");
        assert_eq!(text(|b| push_bw(b, 1e300, true)).len(), 301);
    }

    #[test]
    fn ipv4_dotted_quad() {
        for addr in [
            "0.0.0.0",
            "127.0.0.1",
            "9.10.99.100",
            "255.255.255.255",
            "1.20.205.7",
        ] {
            let parsed: Ipv4Addr = addr.parse().unwrap();
            assert_eq!(text(|b| push_ipv4(b, parsed)), addr);
        }
    }

    #[test]
    fn ipv6_like_inet_ntop() {
        let cases = [
            ("::", "::"),
            ("::1", "::1"),
            ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::0.0.1.0", "::100"),
            ("fe80::1:0:0:1", "fe80::1:0:0:1"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"),
            ("2001:db8::", "2001:db8::"),
            ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
            ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
        ];
        for (addr, want) in cases {
            let addr: Ipv6Addr = addr.parse().unwrap();
            assert_eq!(text(|b| push_ipv6(b, addr)), want);
        }
    }
}
