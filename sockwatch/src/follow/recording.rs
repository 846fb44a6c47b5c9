//! Recordings of the event stream (`follow --write FILE`) and their replay (`--read FILE`).
//!
//! Format: the 16-byte magic `sockwatch-ev-vN\n` (N: [`RECORDING_FORMAT_VERSION`]), the record
//! size (u32, little endian) and 4 zero bytes, the CLOCK_REALTIME - CLOCK_MONOTONIC offset (i64
//! ns, little endian) so a replay prints the same times, then raw [`SockEvent`] records (native
//! layout) exactly as follow processed them: kernel events, the table's SNAPSHOT and REBUILD
//! records, LOST markers and REASONS markers (which ends the run could tell, and from when).
//! A replay through any view gives the live run's output.
//! (Version 1 had no record size: its header was the magic and the offset.)

use std::{
    fs::File,
    io::{self, BufReader, Read},
    path::Path,
    time::Duration,
};

use sockwatch_common::{SockEvent, RECORDING_FORMAT_VERSION};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use super::output::{Delivery, Output};

const MAGIC_PREFIX: &[u8; 14] = b"sockwatch-ev-v";
const RECORD: usize = std::mem::size_of::<SockEvent>();
const HEADER: usize = 32;
/// Records a replay reads at a time.
const BATCH: usize = 4096;

#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("cannot create recording {path}: {source}")]
    Create { path: String, source: io::Error },
    #[error("cannot open recording {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("cannot replay {path}: it is a directory")]
    Directory { path: String },
    #[error("{path} is not a sockwatch recording (bad header)")]
    NotARecording { path: String },
    #[error(
        "{path} is a recording of format version {found}; this sockwatch reads version {ours} \
         (replay it with the sockwatch that wrote it)"
    )]
    Version {
        path: String,
        found: String,
        ours: String,
    },
    #[error("recording {path} is damaged at byte {offset}: a record is cut short (the whole records before it were replayed)")]
    Truncated { path: String, offset: u64 },
    #[error("reading recording {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("writing recording {path}: {source}")]
    Write { path: String, source: io::Error },
}

/// This build's format: the version and the record size it derives from.
fn our_version() -> String {
    format!("{RECORDING_FORMAT_VERSION} ({RECORD}-byte records)")
}

/// The recording's writer: like standard output, written by a thread of its own
/// (`--write >(zstd > run.zst)` may stall), so a signal still ends the run.
pub struct Recorder {
    path: String,
    out: Output,
}

impl Recorder {
    /// Creates FILE, or empties an existing one, readable by its owner only (it names
    /// processes and connections), and writes the header.
    pub fn create(path: &Path, realtime_offset_ns: i64) -> Result<Recorder, RecordingError> {
        let name = crate::escape::Escaped::path(path).to_string();
        let create_error = |source| RecordingError::Create {
            path: name.clone(),
            source,
        };
        let file = crate::owner_only::create(path).map_err(create_error)?;
        let mut out = Output::new(file).map_err(create_error)?;
        out.extend(MAGIC_PREFIX);
        out.extend(format!("{RECORDING_FORMAT_VERSION}\n").as_bytes());
        out.extend(&(RECORD as u32).to_le_bytes());
        out.extend(&[0; 4]);
        out.extend(&realtime_offset_ns.to_le_bytes());
        Ok(Recorder { path: name, out })
    }

    /// Adds events to what the writer thread gets next (no system call).
    pub fn write(&mut self, events: &[SockEvent]) {
        // SAFETY: SockEvent is repr(C) plain data with no implicit padding.
        let bytes = unsafe {
            std::slice::from_raw_parts(events.as_ptr().cast::<u8>(), std::mem::size_of_val(events))
        };
        self.out.extend(bytes);
    }

    fn error(&self, delivery: Delivery) -> RecordingError {
        let source = match delivery {
            // A recording whose reader went away is lost: an error, not a quiet end.
            Delivery::Closed => io::ErrorKind::BrokenPipe.into(),
            Delivery::Failed(e) => e,
            Delivery::Complete | Delivery::Unwritten(_) => io::Error::other("writer ended"),
        };
        RecordingError::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Hands what was recorded since the last call to the writer thread (see [`Output::send`]).
    pub async fn send(&mut self) -> Result<(), RecordingError> {
        match self.out.send().await {
            Ok(()) => Ok(()),
            Err(delivery) => Err(self.error(delivery)),
        }
    }

    /// Completes when the writer thread stopped on a write error.
    pub async fn broken(&mut self) -> RecordingError {
        let delivery = self.out.broken().await;
        self.error(delivery)
    }

    /// Writes the rest (see [`Output::finish`]): the bytes not written in time, if any.
    pub async fn finish(&mut self, patience: Option<Duration>) -> Result<u64, RecordingError> {
        match self.out.finish(patience).await {
            Delivery::Complete => Ok(0),
            Delivery::Unwritten(bytes) => Ok(bytes),
            delivery => Err(self.error(delivery)),
        }
    }
}

pub struct Replay {
    path: String,
    input: BufReader<File>,
    offset: u64,
    /// Where a record is cut short: reported after the whole records before it.
    damaged_at: Option<u64>,
    /// The recorded CLOCK_REALTIME - CLOCK_MONOTONIC offset.
    pub realtime_offset_ns: i64,
}

impl Replay {
    /// Opens a recording and checks its header (this blocks on a FIFO until a writer comes).
    pub fn open(path: &Path) -> Result<Replay, RecordingError> {
        let name = crate::escape::Escaped::path(path).to_string();
        let file = File::open(path).map_err(|source| RecordingError::Open {
            path: name.clone(),
            source,
        })?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(RecordingError::Directory { path: name });
        }
        let mut input = BufReader::with_capacity(1 << 16, file);
        let mut header = [0u8; HEADER];
        let read = read_full(&mut input, &mut header).map_err(|source| RecordingError::Read {
            path: name.clone(),
            source,
        })?;
        let version = header
            .strip_prefix(MAGIC_PREFIX)
            .and_then(|rest| {
                rest.iter()
                    .position(|&b| b == b'\n')
                    .map(|end| &rest[..end])
            })
            .filter(|digits| !digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
            .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u32>().ok());
        let Some(version) = version.filter(|_| read >= 16) else {
            return Err(RecordingError::NotARecording { path: name });
        };
        if version != RECORDING_FORMAT_VERSION {
            return Err(RecordingError::Version {
                path: name,
                found: version.to_string(),
                ours: our_version(),
            });
        }
        if read < HEADER {
            return Err(RecordingError::NotARecording { path: name });
        }
        let field = |at: usize| <[u8; 4]>::try_from(&header[at..at + 4]).expect("4 bytes");
        let record_size = u32::from_le_bytes(field(16));
        if record_size as usize != RECORD {
            return Err(RecordingError::Version {
                path: name,
                found: format!("{version} ({record_size}-byte records)"),
                ours: our_version(),
            });
        }
        let offset_bytes = <[u8; 8]>::try_from(&header[24..]).expect("8 bytes");
        Ok(Replay {
            path: name,
            input,
            offset: HEADER as u64,
            damaged_at: None,
            realtime_offset_ns: i64::from_le_bytes(offset_bytes),
        })
    }

    /// Appends up to `max` events to `out`; Ok(false) once the recording has no more. A record
    /// cut short is an error, reported after every whole record before it was returned.
    pub fn read_batch(
        &mut self,
        out: &mut Vec<SockEvent>,
        max: usize,
    ) -> Result<bool, RecordingError> {
        if let Some(offset) = self.damaged_at {
            return Err(RecordingError::Truncated {
                path: self.path.clone(),
                offset,
            });
        }
        let mut record = [0u8; RECORD];
        let start = out.len();
        for _ in 0..max {
            let filled =
                read_full(&mut self.input, &mut record).map_err(|source| RecordingError::Read {
                    path: self.path.clone(),
                    source,
                })?;
            if filled < RECORD {
                if filled > 0 {
                    self.damaged_at = Some(self.offset);
                }
                break;
            }
            self.offset += RECORD as u64;
            // SAFETY: any RECORD bytes are a valid SockEvent (plain integers and byte arrays).
            out.push(unsafe { std::ptr::read_unaligned(record.as_ptr().cast::<SockEvent>()) });
        }
        if out.len() == start {
            return match self.damaged_at {
                Some(_) => self.read_batch(out, max),
                None => Ok(false),
            };
        }
        Ok(true)
    }
}

/// A recording read on its own thread, so that opening a FIFO with no writer, or reading a
/// stalled one, never keeps the run loop from its signals.
pub struct ReplayFeed {
    opened: oneshot::Receiver<Result<i64, RecordingError>>,
    batches: mpsc::Receiver<Result<Vec<SockEvent>, RecordingError>>,
}

impl ReplayFeed {
    pub fn spawn(path: &Path) -> Result<ReplayFeed, RecordingError> {
        let (opened_tx, opened) = oneshot::channel();
        let (batch_tx, batches) = mpsc::channel(2);
        let path_buf = path.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("follow-replay".into())
            .spawn(move || {
                let mut replay = match Replay::open(&path_buf) {
                    Ok(replay) => {
                        let _ = opened_tx.send(Ok(replay.realtime_offset_ns));
                        replay
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                loop {
                    let mut batch = Vec::with_capacity(BATCH);
                    let message = match replay.read_batch(&mut batch, BATCH) {
                        Ok(true) => Ok(batch),
                        Ok(false) => return,
                        Err(e) => Err(e),
                    };
                    let failed = message.is_err();
                    if batch_tx.blocking_send(message).is_err() || failed {
                        return;
                    }
                }
            });
        spawned.map_err(|source| RecordingError::Open {
            path: crate::escape::Escaped::path(path).to_string(),
            source,
        })?;
        Ok(ReplayFeed { opened, batches })
    }

    /// Waits for the recording to open (call it once): its CLOCK_REALTIME - CLOCK_MONOTONIC
    /// offset.
    pub async fn opened(&mut self) -> Result<i64, RecordingError> {
        (&mut self.opened).await.unwrap_or_else(|_| {
            Err(RecordingError::Read {
                path: String::new(),
                source: io::Error::other("the replay thread ended"),
            })
        })
    }

    /// The next batch; None at the recording's clean end.
    pub async fn next(&mut self) -> Option<Result<Vec<SockEvent>, RecordingError>> {
        self.batches.recv().await
    }
}

/// Reads until `buf` is full or the input ends; how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use std::{fs::Permissions, os::unix::fs::PermissionsExt};

    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("sw-rec-{name}-{}", std::process::id()))
    }

    fn events(n: u64) -> Vec<SockEvent> {
        (1..=n)
            .map(|cookie| SockEvent {
                cookie,
                kind: 1,
                ..SockEvent::default()
            })
            .collect()
    }

    fn record(path: &Path, events: &[SockEvent]) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let mut recorder = Recorder::create(path, -42).expect("create");
            recorder.write(events);
            assert_eq!(recorder.finish(None).await.expect("written"), 0);
        });
        std::fs::read(path).expect("read back")
    }

    fn replay_all(path: &Path) -> (Vec<SockEvent>, Option<RecordingError>) {
        let mut replay = Replay::open(path).expect("open");
        let mut out = Vec::new();
        loop {
            match replay.read_batch(&mut out, 4096) {
                Ok(true) => {}
                Ok(false) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn round_trip_is_owner_only_even_over_a_readable_file() {
        let path = scratch("trip");
        std::fs::write(&path, b"old").expect("an existing file");
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
        let recorded = events(2);
        record(&path, &recorded);
        let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let replay = Replay::open(&path).expect("open");
        assert_eq!(replay.realtime_offset_ns, -42);
        let (replayed, error) = replay_all(&path);
        assert_eq!(replayed, recorded);
        assert!(error.is_none(), "{error:?}");
        let _ = std::fs::remove_file(&path);
    }

    /// Every whole record before a cut is replayed, whatever batch it falls in, then the
    /// offset of the damage.
    #[test]
    fn a_torn_record_keeps_every_whole_one_before_it() {
        let path = scratch("torn");
        for whole in [0u64, 1, 500, 4096, 9000] {
            let bytes = record(&path, &events(whole + 1));
            std::fs::write(&path, &bytes[..bytes.len() - 5]).expect("cut");
            let (replayed, error) = replay_all(&path);
            assert_eq!(replayed, events(whole), "{whole} whole records");
            let expected = HEADER as u64 + whole * RECORD as u64;
            match error {
                Some(RecordingError::Truncated { offset, .. }) => assert_eq!(offset, expected),
                other => panic!("{whole} whole records: {other:?}"),
            }
        }
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn other_versions_and_other_files_are_refused() {
        let path = scratch("versions");
        let mut old = b"sockwatch-ev-v1\n".to_vec();
        old.extend_from_slice(&[0; 8 + 128]);
        std::fs::write(&path, &old).expect("v1");
        match Replay::open(&path) {
            Err(e @ RecordingError::Version { .. }) => {
                let line = e.to_string();
                assert!(line.contains("version 1;"), "{line}");
                assert!(
                    line.contains(&format!("version {RECORDING_FORMAT_VERSION} (")),
                    "{line}"
                );
            }
            other => panic!("v1: {:?}", other.err()),
        }
        let mut resized = record(&path, &events(1));
        resized[16..20].copy_from_slice(&200u32.to_le_bytes());
        std::fs::write(&path, &resized).expect("resized");
        assert!(matches!(
            Replay::open(&path),
            Err(RecordingError::Version { found, .. }) if found.contains("200-byte")
        ));
        for garbage in [&b"garbage"[..], b"", b"sockwatch-ev-vx\n0123456789abcdef"] {
            std::fs::write(&path, garbage).expect("garbage");
            assert!(matches!(
                Replay::open(&path),
                Err(RecordingError::NotARecording { .. })
            ));
        }
        let _ = std::fs::remove_file(&path);
        assert!(matches!(
            Replay::open(&std::env::temp_dir()),
            Err(RecordingError::Directory { .. })
        ));
    }
}
