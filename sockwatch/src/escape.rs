//! The one escaper for text sockwatch did not make (comms, unix socket and cgroup paths, names
//! from resolvers, file paths in errors) on its way to a terminal or a text log: a process can
//! name itself `\e]0;PWNED\n`, and that must neither drive the terminal nor forge a line.
//!
//! Control characters (C0, DEL and C1) and bytes that are not UTF-8 become one visible,
//! unambiguous form: `\n`, `\t`, `\r` for the usual three, `\xNN` for every other byte (each
//! byte of a C1 character's encoding, so the form names the bytes), and a backslash itself
//! becomes `\\`, so escaped text can always be read back. Everything else, printable UTF-8
//! included, passes unchanged. JSON does not use this: it keeps the text (see
//! docs/json-schema.md).
//!
//! Error messages escape each outside string where they quote it ([`Escaped::path`]), from
//! the kernel's or the user's bytes, so an invalid byte reads `\xff` rather than U+FFFD;
//! the CLI's edge then passes the whole message through [`escape_message`], which escapes any
//! control character left and keeps the backslashes of what was already escaped.

use std::{borrow::Cow, fmt, os::unix::ffi::OsStrExt, path::Path};

/// Whether `bytes` would come out of [`push_escaped`] changed.
pub fn needs_escape(bytes: &[u8]) -> bool {
    // The common case (ASCII names and paths) decides without decoding.
    if bytes
        .iter()
        .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
    {
        return false;
    }
    bytes.utf8_chunks().any(|chunk| {
        !chunk.invalid().is_empty() || chunk.valid().chars().any(|c| c == '\\' || c.is_control())
    })
}

/// Appends `bytes` to `buf`, escaped.
pub fn push_escaped(buf: &mut Vec<u8>, bytes: &[u8]) {
    if !needs_escape(bytes) {
        buf.extend_from_slice(bytes);
        return;
    }
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => buf.extend_from_slice(b"\\\\"),
                '\n' => buf.extend_from_slice(b"\\n"),
                '\t' => buf.extend_from_slice(b"\\t"),
                '\r' => buf.extend_from_slice(b"\\r"),
                c if c.is_control() => {
                    let mut utf8 = [0u8; 4];
                    for &b in c.encode_utf8(&mut utf8).as_bytes() {
                        push_hex_byte(buf, b);
                    }
                }
                c => {
                    let mut utf8 = [0u8; 4];
                    buf.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            push_hex_byte(buf, b);
        }
    }
}

fn push_hex_byte(buf: &mut Vec<u8>, b: u8) {
    buf.extend_from_slice(b"\\x");
    push_hex_pair(buf, b);
}

/// Lower-case hex digits, for the byte escapes and hex twins of every output.
pub const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `b` as two lower-case hex digits.
pub fn push_hex_pair(buf: &mut Vec<u8>, b: u8) {
    buf.extend_from_slice(&[
        HEX_DIGITS[usize::from(b >> 4)],
        HEX_DIGITS[usize::from(b & 0xf)],
    ]);
}

/// `bytes` escaped, borrowed when nothing needed escaping.
pub fn escape(bytes: &[u8]) -> Cow<'_, str> {
    if !needs_escape(bytes) {
        // No escape needed means ASCII or valid UTF-8 without controls.
        if let Ok(text) = std::str::from_utf8(bytes) {
            return Cow::Borrowed(text);
        }
    }
    let mut buf = Vec::with_capacity(bytes.len() + 8);
    push_escaped(&mut buf, bytes);
    // Escaped text is UTF-8: invalid bytes became `\xNN`.
    Cow::Owned(String::from_utf8_lossy(&buf).into_owned())
}

/// Displays its bytes escaped: `format!("{}", Escaped(comm))`.
pub struct Escaped<'a>(pub &'a [u8]);

impl<'a> Escaped<'a> {
    /// A path's own bytes, escaped (where `Path::display` would show U+FFFD).
    pub fn path(path: &'a Path) -> Escaped<'a> {
        Escaped(path.as_os_str().as_bytes())
    }
}

/// A message for standard error made of sockwatch's words and outside strings it already
/// escaped: control characters left in it (from text that did not pass [`Escaped`]) are
/// escaped as [`push_escaped`] does, backslashes are kept, so the message is one line.
pub fn escape_message(message: &str) -> Cow<'_, str> {
    if !message.chars().any(char::is_control) {
        return Cow::Borrowed(message);
    }
    let mut buf = Vec::with_capacity(message.len() + 8);
    let mut utf8 = [0u8; 4];
    for c in message.chars() {
        let bytes = c.encode_utf8(&mut utf8).as_bytes();
        if c.is_control() {
            push_escaped(&mut buf, bytes);
        } else {
            buf.extend_from_slice(bytes);
        }
    }
    // Only ASCII escapes were added to UTF-8 text.
    Cow::Owned(String::from_utf8(buf).expect("escaped text is UTF-8"))
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

/// Appends `bytes` escaped when `escape` is set (text for a terminal), raw otherwise (ss and
/// netstat write names byte for byte to pipes and files).
pub fn push_text(buf: &mut Vec<u8>, bytes: &[u8], escape: bool) {
    if escape {
        push_escaped(buf, bytes);
    } else {
        buf.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(bytes: &[u8]) -> String {
        let mut buf = Vec::new();
        push_escaped(&mut buf, bytes);
        String::from_utf8(buf).expect("escaped text is UTF-8")
    }

    #[test]
    fn plain_text_passes_unchanged() {
        assert_eq!(escaped(b"curl"), "curl");
        assert_eq!(
            escaped("/run/caf\u{e9}.sock".as_bytes()),
            "/run/caf\u{e9}.sock"
        );
        assert_eq!(escaped(b""), "");
        assert!(!needs_escape(b"/tmp/a b"));
        assert!(matches!(escape(b"nginx"), Cow::Borrowed("nginx")));
    }

    #[test]
    fn the_terminal_attack_becomes_one_visible_line() {
        assert_eq!(
            escaped(b"\x1b]0;PWNED\n\x07\xff"),
            r"\x1b]0;PWNED\n\x07\xff"
        );
        assert_eq!(escaped(b"a\tb\rc\x7f\0"), r"a\tb\rc\x7f\x00");
    }

    #[test]
    fn backslash_and_lookalikes_stay_unambiguous() {
        // A literal backslash-n is not a newline, and reads back as what it was.
        assert_eq!(escaped(br"a\nb"), r"a\\nb");
        assert_eq!(escaped(b"a\nb"), r"a\nb");
        assert_eq!(escaped(br"\xff"), r"\\xff");
        assert_eq!(escaped(b"\xff"), r"\xff");
    }

    #[test]
    fn invalid_utf8_and_c1_controls_name_their_bytes() {
        // A truncated two-byte sequence, then U+009B (CSI as one C1 character).
        assert_eq!(escaped(b"x\xc3"), r"x\xc3");
        assert_eq!(escaped("\u{9b}31m".as_bytes()), r"\xc2\x9b31m");
        assert_eq!(escaped(b"\xe2\x82"), r"\xe2\x82");
    }

    #[test]
    fn messages_keep_escaped_paths_and_escape_what_is_left() {
        let path = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/\xff\x1b[2J"));
        let message = format!("cannot open {}: gone\nforged", Escaped::path(path));
        assert_eq!(
            escape_message(&message),
            r"cannot open /tmp/\xff\x1b[2J: gone\nforged"
        );
        assert!(matches!(escape_message(r"a\b"), Cow::Borrowed(r"a\b")));
    }

    #[test]
    fn display_and_optional_forms() {
        assert_eq!(Escaped(b"/tmp/\x1b[2J").to_string(), r"/tmp/\x1b[2J");
        let mut raw = Vec::new();
        push_text(&mut raw, b"a\nb", false);
        assert_eq!(raw, b"a\nb");
        let mut tty = Vec::new();
        push_text(&mut tty, b"a\nb", true);
        assert_eq!(tty, br"a\nb");
    }
}
