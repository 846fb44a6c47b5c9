//! A trickle of loopback connections inside a bench namespace, one a millisecond or so to
//! a listener of its own, for timing a tracer's first event: whatever the tracer sees first
//! after it attached is a probe connection, recognisable by the listener's port.

use std::{
    net::{Ipv4Addr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use super::netns::BenchNs;

/// Between connections: short, since the first event a tracer shows comes on average half an
/// interval after it attached, which every tracer's time then includes.
const INTERVAL: Duration = Duration::from_millis(1);
/// The probe stops by itself after this long, should nobody stop it.
const LIFETIME: Duration = Duration::from_secs(60);

/// Connecting until dropped.
pub struct Probe {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Probe {
    pub fn start(ns: &BenchNs) -> Result<Probe, String> {
        let (ready, listening) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let entry = ns.entry()?;
            thread::spawn(move || {
                let listener = entry.enter().and_then(|()| {
                    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                        .map_err(|e| format!("probe cannot listen: {e}"))
                });
                let listener = match listener {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                let _ = ready.send(Ok(port));
                trickle(&listener, &stop);
            })
        };
        let port = listening
            .recv()
            .map_err(|_| "probe thread ended early".to_string())??;
        Ok(Probe {
            port,
            stop,
            thread: Some(thread),
        })
    }
}

fn trickle(listener: &TcpListener, stop: &AtomicBool) {
    let Ok(target) = listener.local_addr() else {
        return;
    };
    let until = Instant::now() + LIFETIME;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        // Connect, accept, close both: a complete short connection.
        if let Ok(client) = TcpStream::connect(target) {
            let _ = listener.accept();
            drop(client);
        }
        thread::sleep(INTERVAL);
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
