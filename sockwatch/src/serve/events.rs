//! The /events stream: each reader gets the NDJSON lines of `follow --json` through its own
//! bounded queue. The event loop never waits for a reader: a line that does not fit is
//! dropped for that reader and counted, and the reader is told how many before its next line.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};

use tokio::sync::mpsc::{self, error::TrySendError};

/// Lines queued for one reader at most (a few MB of JSON).
pub const QUEUE_LINES: usize = 8192;
/// Readers of /events at once, at most.
pub const MAX_READERS: usize = 16;

pub type Line = Arc<[u8]>;

struct Reader {
    queue: mpsc::Sender<Line>,
    /// Lines dropped since the reader's last delivered line.
    dropped: u64,
}

#[derive(Default)]
pub struct EventHub {
    readers: Mutex<Vec<Reader>>,
    count: AtomicUsize,
}

/// `{"type":"lost","lost":N}`, as follow reports its losses.
fn lost_line(lost: u64) -> Line {
    format!("{{\"type\":\"lost\",\"lost\":{lost}}}\n")
        .into_bytes()
        .into()
}

impl EventHub {
    /// A queue of the lines to come, or None when MAX_READERS are reading already.
    pub fn subscribe(&self) -> Option<mpsc::Receiver<Line>> {
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        readers.retain(|r| !r.queue.is_closed());
        if readers.len() >= MAX_READERS {
            return None;
        }
        let (queue, receiver) = mpsc::channel(QUEUE_LINES);
        readers.push(Reader { queue, dropped: 0 });
        self.count.store(readers.len(), Ordering::Relaxed);
        Some(receiver)
    }

    /// Whether anyone reads: lines are only built when someone does.
    pub fn has_readers(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    /// Queues `line` for every reader; returns how many readers had no room for it.
    pub fn publish(&self, line: &[u8]) -> u64 {
        let line: Line = line.into();
        let mut readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        let mut dropped = 0;
        readers.retain_mut(|reader| {
            if reader.dropped > 0 {
                match reader.queue.try_send(lost_line(reader.dropped)) {
                    Ok(()) => reader.dropped = 0,
                    Err(TrySendError::Full(_)) => {}
                    Err(TrySendError::Closed(_)) => return false,
                }
            }
            if reader.dropped == 0 {
                match reader.queue.try_send(Line::clone(&line)) {
                    Ok(()) => return true,
                    Err(TrySendError::Closed(_)) => return false,
                    Err(TrySendError::Full(_)) => {}
                }
            }
            reader.dropped += 1;
            dropped += 1;
            true
        });
        self.count.store(readers.len(), Ordering::Relaxed);
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_reader_loses_lines_and_is_told_how_many() {
        let hub = EventHub::default();
        let mut reader = hub.subscribe().expect("room");
        assert!(hub.has_readers());
        for _ in 0..QUEUE_LINES {
            assert_eq!(hub.publish(b"x\n"), 0);
        }
        assert_eq!(hub.publish(b"y\n"), 1);
        assert_eq!(hub.publish(b"y\n"), 1);
        for _ in 0..QUEUE_LINES {
            assert_eq!(&*reader.try_recv().expect("queued"), b"x\n");
        }
        assert_eq!(hub.publish(b"z\n"), 0);
        assert_eq!(
            &*reader.try_recv().expect("lost line"),
            b"{\"type\":\"lost\",\"lost\":2}\n"
        );
        assert_eq!(&*reader.try_recv().expect("next line"), b"z\n");
        drop(reader);
        hub.publish(b"w\n");
        assert!(!hub.has_readers());
    }
}
