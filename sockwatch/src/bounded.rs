//! Reading files and pipes with a ceiling on memory: whatever a path turns out to be
//! (`/dev/zero`, a FIFO, a fake /proc), sockwatch holds at most a constant amount of it.

use std::{
    fs::File,
    io::{self, BufRead, Read},
    path::Path,
};

/// The most a text file from the kernel or /etc is read whole: far above what /proc/net
/// tables, /proc/mounts or /etc/services hold on real systems (100,000 routes are 13 MB).
pub const TEXT_LIMIT: u64 = 16 << 20;

/// The longest line a line-by-line /proc reader accepts; /proc/net lines are under 200 bytes.
pub const LINE_LIMIT: usize = 4096;

/// Reads all of `reader`, failing with InvalidData once it passes `limit` bytes, so a
/// device that never ends costs `limit` bytes, not all of memory.
pub fn read_bytes_from(reader: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("longer than {limit} bytes"),
        ));
    }
    Ok(bytes)
}

/// [`read_bytes_from`], as UTF-8 text.
pub fn read_text_from(reader: impl Read, limit: u64) -> io::Result<String> {
    String::from_utf8(read_bytes_from(reader, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// [`read_bytes_from`] on the file at `path`, with [`TEXT_LIMIT`].
pub fn read_bytes(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    read_bytes_from(File::open(path)?, TEXT_LIMIT)
}

/// [`read_text_from`] on the file at `path`, with [`TEXT_LIMIT`].
pub fn read_text(path: impl AsRef<Path>) -> io::Result<String> {
    read_text_from(File::open(path)?, TEXT_LIMIT)
}

/// The next line of `reader` without its line end, or None at the end; a line longer than
/// [`LINE_LIMIT`] is an InvalidData error (read no further than the limit).
pub fn read_line(reader: &mut impl BufRead, line: &mut String) -> io::Result<Option<()>> {
    line.clear();
    let mut bytes = Vec::new();
    let got = reader
        .take(LINE_LIMIT as u64 + 1)
        .read_until(b'\n', &mut bytes)?;
    if got == 0 {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    } else if bytes.len() > LINE_LIMIT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a line longer than {LINE_LIMIT} bytes"),
        ));
    }
    *line = String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))?;
    Ok(Some(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_up_to_the_limit_is_read_and_beyond_it_refused() {
        assert_eq!(read_text_from(&b"abcd"[..], 4).unwrap(), "abcd");
        let err = read_text_from(&b"abcde"[..], 4).unwrap_err();
        assert_eq!(err.to_string(), "longer than 4 bytes");
        // An endless source stops at the limit.
        let err = read_text_from(io::repeat(0), 1 << 10).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(read_text_from(&[0xff, b'a'][..], 10).is_err());
    }

    #[test]
    fn lines_are_bounded() {
        let text = format!("one\ntwo\r\n{}\n", "x".repeat(LINE_LIMIT));
        let mut reader = io::BufReader::new(text.as_bytes());
        let mut line = String::new();
        let mut seen = Vec::new();
        while read_line(&mut reader, &mut line).unwrap().is_some() {
            seen.push(line.len());
        }
        assert_eq!(seen, [3, 4, LINE_LIMIT]);
        let mut endless = io::BufReader::new(io::repeat(b'x'));
        assert!(read_line(&mut endless, &mut line).is_err());
        let mut last = io::BufReader::new(&b"no end"[..]);
        read_line(&mut last, &mut line).unwrap().unwrap();
        assert_eq!(line, "no end");
    }
}
