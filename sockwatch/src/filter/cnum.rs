//! Number parsing the way ss reads numbers: with C's strtol/strtoul/sscanf rules (base 0 means
//! `0x` hex, leading `0` octal, else decimal; leading blanks and a sign allowed). Values ss
//! accepts, such as `0x16` or `026` for port 22, must mean the same here.

/// The longest number at the start of `s` that C's strtoul/strtol accept: its sign, its
/// magnitude (saturated at u128::MAX) and the text after it. None when `s` has no digits there.
fn leading_number(s: &str, radix: Option<u32>) -> Option<(bool, u128, &str)> {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let hex_digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_hexdigit()));
    let (radix, digits) = match (radix, hex_digits) {
        (Some(radix), _) => (radix, s),
        (None, Some(rest)) => (16, rest),
        (None, None) if s.starts_with('0') => (8, s),
        (None, None) => (10, s),
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let magnitude = digits[..end].chars().fold(0u128, |value, c| {
        let digit = u128::from(c.to_digit(radix).unwrap_or(0));
        value
            .saturating_mul(u128::from(radix))
            .saturating_add(digit)
    });
    Some((negative, magnitude, &digits[end..]))
}

/// strtol(s, &end, 0) clamped to C's long, and the rest of `s`.
fn strtol(s: &str) -> Option<(i64, &str)> {
    let (negative, magnitude, rest) = leading_number(s, None)?;
    let value = if negative {
        0i128.saturating_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).unwrap_or(i128::MAX)
    };
    let clamped = i64::try_from(value).unwrap_or(if negative { i64::MIN } else { i64::MAX });
    Some((clamped, rest))
}

/// strtoul(s, &end, radix): a negative number wraps around as in C, which callers then reject
/// as too large (except `-0`).
fn strtoul(s: &str, radix: Option<u32>) -> Option<(u64, &str)> {
    let (negative, magnitude, rest) = leading_number(s, radix)?;
    let value = match (negative, u64::try_from(magnitude)) {
        (false, Ok(value)) => value,
        (true, Ok(0)) => 0,
        _ => u64::MAX,
    };
    Some((value, rest))
}

/// iproute2's get_integer(): the whole of `s` is one base-0 number that fits a C int.
pub(super) fn int(s: &str) -> Option<i32> {
    match strtol(s)? {
        (value, "") => i32::try_from(value).ok(),
        _ => None,
    }
}

/// iproute2's get_unsigned() / get_u16() style: the whole of `s` is one base-0 number <= max.
pub(super) fn unsigned(s: &str, max: u64) -> Option<u64> {
    match strtoul(s, None)? {
        (value, "") if value <= max => Some(value),
        _ => None,
    }
}

/// A base-0 number at the start of `s` as strtoul reads it (for dotted quads), and the rest.
pub(super) fn unsigned_prefix(s: &str) -> Option<(u64, &str)> {
    strtoul(s, None)
}

/// sscanf's `%u`: a decimal number at the start of `s`, truncated to 32 bits as C does.
pub(super) fn scanf_u32(s: &str) -> Option<u32> {
    // Truncation is the point: it is what the C conversion stores.
    strtoul(s, Some(10)).map(|(value, _)| value as u32)
}

/// sscanf's `%i` into a C int, read as the u32 ss then uses: a base-0 number at the start of
/// `s`, truncated to 32 bits; returns the rest of `s` too.
pub(super) fn scanf_i32_bits(s: &str) -> Option<(u32, &str)> {
    // Truncation is the point: `0xffffffff` overflows int and ends up as mark 0xffffffff.
    strtol(s).map(|(value, rest)| (value as u32, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_follow_c() {
        assert_eq!(int("22"), Some(22));
        assert_eq!(int("0x16"), Some(22));
        assert_eq!(int("026"), Some(22));
        assert_eq!(int("-1"), Some(-1));
        assert_eq!(int(" +7"), Some(7));
        assert_eq!(int("0"), Some(0));
        assert_eq!(int("08"), None, "8 is not an octal digit");
        assert_eq!(int("0x"), None, "strtol reads the 0 and stops at x");
        assert_eq!(int("22a"), None);
        assert_eq!(int(""), None);
        assert_eq!(int("99999999999"), None, "out of int range");
    }

    #[test]
    fn unsigned_rejects_negative_and_large() {
        assert_eq!(unsigned("24", 128), Some(24));
        assert_eq!(unsigned("129", 128), None);
        assert_eq!(unsigned("-1", u64::from(u32::MAX)), None);
        assert_eq!(unsigned("-0", 10), Some(0));
        assert_eq!(unsigned_prefix("10.8"), Some((10, ".8")));
        assert_eq!(unsigned_prefix(".8"), None);
    }

    #[test]
    fn scanf_conversions_truncate() {
        assert_eq!(scanf_i32_bits("0xffffffff"), Some((u32::MAX, "")));
        assert_eq!(scanf_i32_bits("-1/x"), Some((u32::MAX, "/x")));
        assert_eq!(scanf_i32_bits("12junk"), Some((12, "junk")));
        assert_eq!(scanf_i32_bits("junk"), None);
        assert_eq!(scanf_u32("3x"), Some(3));
        assert_eq!(scanf_u32("010"), Some(10), "%u is decimal");
    }
}
