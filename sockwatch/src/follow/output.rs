//! Standard output through a writer thread. The run loop fills a buffer and hands it over
//! once a batch of events is shown; only the writer thread ever blocks in write(2). So a
//! signal ends the run whatever the reader of the output is doing (`| sleep 20`), and what
//! the thread could not write by then is counted rather than lost silently.
//!
//! The count stays exact without writing a pipe a page at a time: each write takes whatever
//! the pipe has room for without waiting (RWF_NOWAIT), and only when it has none does the
//! thread wait, for one PIPE_BUF write, which goes in whole or not at all. Large writes matter
//! at follow's rates: every write wakes the reader, and `--json` writes ~100 MB/s under churn.

use std::{
    fs::File,
    io::{self, Write},
    os::fd::{AsFd, AsRawFd},
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc as std_mpsc, Arc,
    },
    time::Duration,
};

use tokio::sync::{mpsc, oneshot};

/// Buffers handed to the thread and not yet written: the run loop waits (and reads no more
/// events) while the reader is this far behind.
const IN_FLIGHT: usize = 4;
const BUFFER: usize = 64 * 1024;
/// Writes of at most PIPE_BUF bytes to a pipe are all or nothing, so the count of bytes a
/// stalled reader never took is exact.
const ATOMIC_WRITE: usize = libc::PIPE_BUF;

/// The writer thread's end of the output.
struct Sink {
    file: File,
    /// Whether writes that never wait (RWF_NOWAIT) are worth trying: pipes on kernels that
    /// have them. Regular files never stall on a reader, so they are written whole.
    nowait: bool,
    regular: bool,
}

impl Sink {
    fn new(file: File) -> Sink {
        let regular = file.metadata().is_ok_and(|m| m.file_type().is_file());
        Sink {
            file,
            nowait: !regular,
            regular,
        }
    }

    /// Writes a first part of `bytes` and says how long it was; a write that waits for the
    /// reader is never more than PIPE_BUF bytes, so none is left half done when the run stops
    /// waiting for it.
    fn write_some(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.regular {
            return self.file.write(bytes);
        }
        if self.nowait {
            let part = libc::iovec {
                iov_base: bytes.as_ptr().cast_mut().cast(),
                iov_len: bytes.len(),
            };
            // SAFETY: one iovec over `bytes`, which outlives the call; offset -1 writes at
            // the current position, as write(2) does.
            let n =
                unsafe { libc::pwritev2(self.file.as_raw_fd(), &part, 1, -1, libc::RWF_NOWAIT) };
            if let Ok(n) = usize::try_from(n) {
                return Ok(n);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                // Full: wait below for room for one atomic write.
                Some(libc::EAGAIN) => {}
                // The kernel or this kind of file has no such writes.
                Some(libc::EOPNOTSUPP | libc::EINVAL | libc::ENOSYS) => self.nowait = false,
                _ => return Err(e),
            }
        }
        self.file.write(&bytes[..bytes.len().min(ATOMIC_WRITE)])
    }
}

/// How the output ended.
#[derive(Debug)]
pub enum Delivery {
    /// Everything was written.
    Complete,
    /// The reader went away (EPIPE): a quiet end.
    Closed,
    /// A write failed for another reason (ENOSPC, EIO, ...).
    Failed(io::Error),
    /// Stopped waiting for the reader: this many bytes were not written.
    Unwritten(u64),
}

pub struct Output {
    pending: Vec<u8>,
    sender: Option<mpsc::Sender<Vec<u8>>>,
    /// Written buffers coming back for reuse.
    spare: std_mpsc::Receiver<Vec<u8>>,
    /// The thread's end: Ok once its channel closed and everything was written (None once
    /// reported).
    done: Option<oneshot::Receiver<io::Result<()>>>,
    /// Bytes handed to the thread, and bytes it has written.
    handed: u64,
    written: Arc<AtomicU64>,
}

impl Output {
    /// Standard output (a duplicate of descriptor 1, so the process's own stdout handle is
    /// never locked by a blocked writer).
    pub fn stdout() -> io::Result<Output> {
        let fd = io::stdout().as_fd().try_clone_to_owned()?;
        Output::new(File::from(fd))
    }

    pub fn new(file: File) -> io::Result<Output> {
        let mut sink = Sink::new(file);
        let (sender, mut receiver) = mpsc::channel::<Vec<u8>>(IN_FLIGHT);
        let (give_back, spare) = std_mpsc::sync_channel(IN_FLIGHT);
        let (report, done) = oneshot::channel();
        let written = Arc::new(AtomicU64::new(0));
        let progress = Arc::clone(&written);
        std::thread::Builder::new()
            .name("follow-output".into())
            .spawn(move || {
                let result = (|| {
                    while let Some(mut buffer) = receiver.blocking_recv() {
                        let mut rest = &buffer[..];
                        while !rest.is_empty() {
                            match sink.write_some(rest) {
                                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                                Ok(n) => {
                                    rest = &rest[n..];
                                    progress.fetch_add(n as u64, Ordering::Relaxed);
                                }
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                                Err(e) => return Err(e),
                            }
                        }
                        buffer.clear();
                        let _ = give_back.try_send(buffer);
                    }
                    Ok(())
                })();
                let _ = report.send(result);
            })?;
        Ok(Output {
            pending: Vec::with_capacity(BUFFER),
            sender: Some(sender),
            spare,
            done: Some(done),
            handed: 0,
            written,
        })
    }

    /// Hands what was written since the last call to the thread, waiting while it is
    /// [`IN_FLIGHT`] buffers behind. Err once the thread has stopped on a write error
    /// (cancel-safe: nothing is handed over unless the wait completes).
    pub async fn send(&mut self) -> Result<(), Delivery> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(sender) = &self.sender else {
            return Err(Delivery::Complete);
        };
        let Ok(permit) = sender.reserve().await else {
            self.sender = None;
            return Err(self.thread_end().await);
        };
        let next = self
            .spare
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BUFFER));
        let full = std::mem::replace(&mut self.pending, next);
        self.handed += full.len() as u64;
        permit.send(full);
        Ok(())
    }

    /// Hands over the rest and waits until it is written, or until `patience` runs out (the
    /// thread is then left blocked; the process is about to end).
    pub async fn finish(&mut self, patience: Option<Duration>) -> Delivery {
        let work = async {
            if let Err(delivery) = self.send().await {
                return delivery;
            }
            self.sender = None;
            self.thread_end().await
        };
        match patience {
            None => work.await,
            Some(limit) => match tokio::time::timeout(limit, work).await {
                Ok(delivery) => delivery,
                Err(_) => {
                    let unwritten = self.handed + self.pending.len() as u64
                        - self.written.load(Ordering::Relaxed);
                    Delivery::Unwritten(unwritten)
                }
            },
        }
    }

    /// Adds bytes to what the thread gets next. Inlined: serializers write a frame a few
    /// bytes at a time.
    #[inline]
    pub fn extend(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// Completes when the writer thread stopped on a write error while the run goes on (an
    /// idle run notices a failed output without waiting for its next line).
    pub async fn broken(&mut self) -> Delivery {
        self.thread_end().await
    }

    async fn thread_end(&mut self) -> Delivery {
        let Some(done) = &mut self.done else {
            return Delivery::Complete;
        };
        let result = done.await;
        self.done = None;
        match result {
            Ok(Ok(())) => Delivery::Complete,
            Ok(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => Delivery::Closed,
            Ok(Err(e)) => Delivery::Failed(e),
            Err(_) => Delivery::Failed(io::Error::other("the output thread ended")),
        }
    }
}

/// Writing only fills the buffer: it never fails and never blocks.
impl Write for Output {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.extend(buf);
        Ok(buf.len())
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.extend(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn delivers_everything_then_reports_each_kind_of_end() {
        let path = std::env::temp_dir().join(format!("sw-out-{}", std::process::id()));
        runtime().block_on(async {
            let mut out = Output::new(File::create(&path).expect("create")).expect("thread");
            for i in 0..10_000 {
                writeln!(out, "line {i}").expect("buffered");
                if i % 100 == 0 {
                    out.send().await.expect("sent");
                }
            }
            assert!(matches!(out.finish(None).await, Delivery::Complete));
        });
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 10_000);
        assert_eq!(text.lines().last(), Some("line 9999"));
        let _ = std::fs::remove_file(&path);

        runtime().block_on(async {
            let full = File::options()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full");
            let mut out = Output::new(full).expect("thread");
            out.write_all(b"x\n").expect("buffered");
            match out.finish(None).await {
                Delivery::Failed(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOSPC)),
                other => panic!("{other:?}"),
            }
        });

        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        runtime().block_on(async {
            let mut out =
                Output::new(File::from(std::os::fd::OwnedFd::from(writer))).expect("thread");
            out.write_all(b"x\n").expect("buffered");
            assert!(matches!(out.finish(None).await, Delivery::Closed));
        });
    }

    #[test]
    fn a_stalled_reader_is_waited_for_only_so_long() {
        let (reader, writer) = std::io::pipe().expect("pipe");
        runtime().block_on(async {
            let mut out =
                Output::new(File::from(std::os::fd::OwnedFd::from(writer))).expect("thread");
            // More than a pipe holds (64 KiB by default).
            let line = [b'x'; 1023];
            for _ in 0..1024 {
                out.write_all(&line).expect("buffered");
                out.write_all(b"\n").expect("buffered");
            }
            let started = std::time::Instant::now();
            // SAFETY: F_GETPIPE_SZ takes no argument.
            let room = unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_GETPIPE_SZ) };
            let room = u64::try_from(room).expect("a pipe's size");
            match out.finish(Some(Duration::from_millis(200))).await {
                // Exact: what the pipe holds went in, nothing of the write that waits.
                Delivery::Unwritten(n) => assert_eq!(n, (1 << 20) - room),
                other => panic!("{other:?}"),
            }
            assert!(started.elapsed() < Duration::from_secs(2));
        });
        drop(reader);
    }
}
