//! The skeleton of every /proc text reader (groups, interfaces, routes, snmp, sockstat): read
//! the whole file, parse it with 1-based line numbers, and name the file and the line in a
//! typed error. Bytes that are not UTF-8 reach the parser as U+FFFD, so a bad byte is a
//! problem on its line, not a failure to read.

use std::{
    io,
    path::{Path, PathBuf},
};

/// A parse problem `P` at a 1-based line of the text being parsed.
pub type LineError<P> = (usize, P);

/// A /proc file that could not be read, or a line of it that could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ProcFileError<P> {
    #[error("cannot read {}: {source}", crate::escape::Escaped::path(path))]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}:{line}: {problem}", crate::escape::Escaped::path(path))]
    Format {
        path: PathBuf,
        line: usize,
        problem: P,
    },
}

/// Reads and parses `path`.
pub fn read<T, P>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, LineError<P>>,
) -> Result<T, ProcFileError<P>> {
    let text = read_text(path).map_err(|source| ProcFileError::Read {
        path: path.into(),
        source,
    })?;
    parse_text(path, &text, parse)
}

/// Reads and parses `path`; None when it does not exist (a protocol or family the kernel
/// was built or booted without).
pub fn read_if_present<T, P>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, LineError<P>>,
) -> Result<Option<T>, ProcFileError<P>> {
    match read_text(path) {
        Ok(text) => parse_text(path, &text, parse).map(Some),
        Err(source) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ProcFileError::Read {
            path: path.into(),
            source,
        }),
    }
}

/// Bounded: a /proc file that never ends (a fake /proc) costs at most TEXT_LIMIT bytes.
fn read_text(path: &Path) -> io::Result<String> {
    crate::bounded::read_bytes(path).map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

fn parse_text<T, P>(
    path: &Path,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, LineError<P>>,
) -> Result<T, ProcFileError<P>> {
    parse(text).map_err(|(line, problem)| ProcFileError::Format {
        path: path.into(),
        line,
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[derive(Debug, PartialEq, Eq, thiserror::Error)]
    #[error("not a number")]
    struct NotANumber;

    fn numbers(text: &str) -> Result<Vec<u32>, LineError<NotANumber>> {
        text.lines()
            .enumerate()
            .map(|(i, line)| line.parse().map_err(|_| (i + 1, NotANumber)))
            .collect()
    }

    #[test]
    fn errors_name_the_file_and_the_line() {
        let dir = std::env::temp_dir().join(format!("sockwatch-proc-file-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        let bad = dir.join("bad");
        fs::write(&good, "1\n2\n").unwrap();
        fs::write(&bad, b"1\n\xff\n").unwrap();
        assert_eq!(read(&good, numbers).unwrap(), [1, 2]);
        let err = read(&bad, numbers).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}:2: not a number", bad.display())
        );
        let missing = dir.join("missing");
        assert!(read_if_present(&missing, numbers).unwrap().is_none());
        let err = read(&missing, numbers).unwrap_err();
        assert!(err
            .to_string()
            .starts_with(&format!("cannot read {}: ", missing.display())));
        fs::remove_dir_all(&dir).unwrap();
    }
}
