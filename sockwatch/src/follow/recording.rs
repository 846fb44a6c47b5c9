//! Recordings of the event stream (`follow --write FILE`) and their replay (`--read FILE`).
//!
//! Format: a 16-byte magic, the CLOCK_REALTIME - CLOCK_MONOTONIC offset (i64 ns, little
//! endian) so a replay prints the same times, then raw [`SockEvent`] records (136 bytes each,
//! native layout) exactly as follow processed them: kernel events, the table's SNAPSHOT and
//! REBUILD records and LOST markers. A replay through any view gives the live run's output.

use std::{
    fs::File,
    io::{self, BufReader, BufWriter, Read, Write},
    path::Path,
};

use sockwatch_common::SockEvent;
use thiserror::Error;

const MAGIC: &[u8; 16] = b"sockwatch-ev-v1\n";
const RECORD: usize = std::mem::size_of::<SockEvent>();

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("cannot create recording {path}: {source}")]
    Create { path: String, source: io::Error },
    #[error("cannot open recording {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("{path} is not a sockwatch recording (bad header)")]
    NotARecording { path: String },
    #[error("recording {path} is truncated at byte {offset}")]
    Truncated { path: String, offset: u64 },
    #[error("reading recording {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("writing recording: {0}")]
    Write(io::Error),
}

pub struct Recorder {
    out: BufWriter<File>,
}

impl Recorder {
    /// Creates FILE (mode 0600: it names processes and connections) and writes the header.
    pub fn create(path: &Path, realtime_offset_ns: i64) -> Result<Recorder, RecordingError> {
        let file = crate::owner_only::create(path).map_err(|source| RecordingError::Create {
            path: crate::escape::Escaped::path(path).to_string(),
            source,
        })?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        out.write_all(MAGIC).map_err(RecordingError::Write)?;
        out.write_all(&realtime_offset_ns.to_le_bytes())
            .map_err(RecordingError::Write)?;
        Ok(Recorder { out })
    }

    pub fn write(&mut self, events: &[SockEvent]) -> Result<(), RecordingError> {
        for event in events {
            // SAFETY: SockEvent is repr(C) plain data with no implicit padding.
            let bytes = unsafe {
                std::slice::from_raw_parts((event as *const SockEvent).cast::<u8>(), RECORD)
            };
            self.out.write_all(bytes).map_err(RecordingError::Write)?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), RecordingError> {
        self.out.flush().map_err(RecordingError::Write)
    }
}

pub struct Replay {
    path: String,
    input: BufReader<File>,
    offset: u64,
    /// The recorded CLOCK_REALTIME - CLOCK_MONOTONIC offset.
    pub realtime_offset_ns: i64,
}

impl Replay {
    pub fn open(path: &Path) -> Result<Replay, RecordingError> {
        let name = crate::escape::Escaped::path(path).to_string();
        let file = File::open(path).map_err(|source| RecordingError::Open {
            path: name.clone(),
            source,
        })?;
        let mut input = BufReader::with_capacity(1 << 16, file);
        let mut header = [0u8; 24];
        input
            .read_exact(&mut header)
            .map_err(|_| RecordingError::NotARecording { path: name.clone() })?;
        if &header[..16] != MAGIC {
            return Err(RecordingError::NotARecording { path: name });
        }
        let mut offset_bytes = [0u8; 8];
        offset_bytes.copy_from_slice(&header[16..]);
        Ok(Replay {
            path: name,
            input,
            offset: 24,
            realtime_offset_ns: i64::from_le_bytes(offset_bytes),
        })
    }

    /// Appends up to `max` events to `out`; Ok(false) once the recording has no more.
    pub fn read_batch(
        &mut self,
        out: &mut Vec<SockEvent>,
        max: usize,
    ) -> Result<bool, RecordingError> {
        let mut record = [0u8; RECORD];
        let start = out.len();
        for _ in 0..max {
            let mut filled = 0;
            while filled < RECORD {
                match self.input.read(&mut record[filled..]) {
                    Ok(0) if filled == 0 => return Ok(out.len() > start),
                    Ok(0) => {
                        return Err(RecordingError::Truncated {
                            path: self.path.clone(),
                            offset: self.offset,
                        })
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(source) => {
                        return Err(RecordingError::Read {
                            path: self.path.clone(),
                            source,
                        })
                    }
                }
            }
            self.offset += RECORD as u64;
            // SAFETY: any RECORD bytes are a valid SockEvent (plain integers and byte arrays).
            out.push(unsafe { std::ptr::read_unaligned(record.as_ptr().cast::<SockEvent>()) });
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let dir = std::env::temp_dir().join(format!("sw-rec-{}", std::process::id()));
        let events = [
            SockEvent {
                cookie: 1,
                kind: 1,
                ..SockEvent::default()
            },
            SockEvent {
                cookie: 2,
                kind: 2,
                ..SockEvent::default()
            },
        ];
        let mut recorder = Recorder::create(&dir, -42).expect("create");
        recorder.write(&events).expect("write");
        recorder.flush().expect("flush");
        let mode = std::fs::metadata(&dir).expect("stat").permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );

        let mut replay = Replay::open(&dir).expect("open");
        assert_eq!(replay.realtime_offset_ns, -42);
        let mut out = Vec::new();
        assert!(replay.read_batch(&mut out, 10).expect("read"));
        assert_eq!(out, events);
        assert!(!replay.read_batch(&mut out, 10).expect("read at the end"));

        let bytes = std::fs::read(&dir).expect("read back");
        std::fs::write(&dir, &bytes[..bytes.len() - 5]).expect("truncate");
        let mut replay = Replay::open(&dir).expect("open");
        let mut out = Vec::new();
        assert!(matches!(
            replay.read_batch(&mut out, 10),
            Err(RecordingError::Truncated { offset: 160, .. })
        ));
        std::fs::write(&dir, b"garbage").expect("garbage");
        assert!(matches!(
            Replay::open(&dir),
            Err(RecordingError::NotARecording { .. })
        ));
        let _ = std::fs::remove_file(&dir);
    }
}
