//! `sockwatch top`: batch frames to standard output, or the terminal UI. The terminal is
//! restored however top ends: on `q`, on SIGTERM, SIGINT or SIGHUP, on a panic (a chained
//! hook), and when the tty goes away (then quietly).

use std::{cell::RefCell, io, process::ExitCode, rc::Rc, time::Duration};

use ratatui::{
    crossterm::{
        cursor,
        event::{self, Event, KeyCode, KeyEventKind, KeyModifiers},
        execute,
        terminal::{self, EnterAlternateScreen, LeaveAlternateScreen},
    },
    prelude::CrosstermBackend,
    Terminal,
};
use sockwatch::{
    follow::{clock::WallClock, Delivery, Output},
    render::top::{json, text, tui},
    top::{
        count_sums,
        frame::Frame,
        state::{AppState, Key, Outcome},
        Engine, EventTap, Listing, Sampler, Top, TopConfig,
    },
};
use tokio::{
    signal::unix::{signal, SignalKind},
    sync::mpsc,
    time::{interval_at, Instant, MissedTickBehavior},
};

use super::config::top::{parse_filter, Show, TopPlan};

pub fn run(plan: TopPlan) -> Result<ExitCode, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(run_async(plan))?;
    Ok(ExitCode::SUCCESS)
}

/// What both loops need.
struct Refresher {
    engine: Rc<RefCell<Engine>>,
    /// None only while a listing runs (it is then on the listing's thread).
    sampler: Option<Sampler>,
    degraded: Option<String>,
    /// For the kernel's sums (see [`count_sums`]).
    ends_complete: bool,
}

impl Refresher {
    /// Lists the sockets on one of the runtime's blocking threads: this thread drains
    /// follow's ring buffer meanwhile. A listing of tens of thousands of sockets, or a /proc
    /// scan, takes long enough under churn for the ring to fill if the drain waited for it.
    async fn list(&mut self, now_ns: u64) -> Result<Listing, String> {
        let mut sampler = self.sampler.take().unwrap_or_default();
        let (states, filtered) = {
            let engine = self.engine.borrow();
            (engine.listed_states(), engine.filter().is_some())
        };
        let listing = tokio::task::spawn_blocking(move || {
            set_priority(0);
            let listed = sampler.list(now_ns, states, filtered, || {
                set_priority(YIELD_TO_THE_DRAIN)
            });
            (sampler, listed)
        });
        let (sampler, listed) = listing
            .await
            .map_err(|e| format!("listing the sockets: {e}"))?;
        self.sampler = Some(sampler);
        let listing = listed.map_err(|e| e.to_string())?;
        count_sums(
            &mut self.engine.borrow_mut(),
            &listing.ended,
            self.ends_complete,
        );
        Ok(listing)
    }

    /// Hands a used listing's records back to the sampler, for its next listing.
    fn give_back(&mut self, listing: Listing) {
        if let Some(sampler) = &mut self.sampler {
            sampler.give_back(listing.records);
        }
    }

    async fn prime(&mut self) -> Result<(), String> {
        let now = WallClock::monotonic_ns();
        let listing = self.list(now).await?;
        self.engine.borrow_mut().prime(&listing.records, now);
        self.give_back(listing);
        Ok(())
    }

    async fn frame(&mut self, state: &AppState) -> Result<Frame, String> {
        let now = WallClock::monotonic_ns();
        let listing = self.list(now).await?;
        let mut frame = self.engine.borrow_mut().frame(
            &listing.records,
            listing.time_wait,
            now,
            self.degraded.clone(),
        );
        self.give_back(listing);
        state.sort(&mut frame);
        Ok(frame)
    }
}

/// The listing thread's nice value after the kernel's dump. Handling tens of thousands of
/// listed sockets, and above all a /proc scan, can take a core for a second; on a machine the
/// churn keeps busy, the drain would then get too little CPU to keep up.
const YIELD_TO_THE_DRAIN: i32 = 10;

/// Sets the calling (listing) thread's nice value. The dump itself runs at the usual
/// priority (0): while it runs, every connection's end comes as an event rather than in the
/// kernel's sums, so it must be short. Raising the priority back needs CAP_SYS_NICE; without
/// it the dump runs at nice 10, and more ends come as events. Lowering it needs no privilege.
fn set_priority(nice: i32) {
    // SAFETY: gettid and setpriority take no pointers; on Linux PRIO_PROCESS with a thread id
    // sets that thread's nice value alone.
    unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice);
    }
}

/// SIGINT, SIGTERM and SIGHUP: any of them ends top (the follower stops on them too).
async fn stop_signal() -> Result<(), String> {
    let catch = |kind| signal(kind).map_err(|e| format!("installing signal handlers: {e}"));
    let (mut int, mut term, mut hup) = (
        catch(SignalKind::interrupt())?,
        catch(SignalKind::terminate())?,
        catch(SignalKind::hangup())?,
    );
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
    Ok(())
}

async fn run_async(plan: TopPlan) -> Result<(), String> {
    let top = Top::start(TopConfig {
        filter: plan.filter,
        interval: plan.delay,
    })
    .map_err(|e| e.to_string())?;
    let Top {
        follower,
        degraded,
        engine,
        sampler,
        ends_complete,
    } = top;
    let clock = WallClock::now();
    let tap = EventTap {
        engine: engine.clone(),
    };
    let events = async {
        let Some(follower) = follower else {
            return std::future::pending().await;
        };
        // The tap writes nothing: follow's output goes nowhere.
        let mut nowhere = std::fs::File::options()
            .write(true)
            .open("/dev/null")
            .and_then(Output::new)
            .map_err(|e| format!("cannot open /dev/null: {e}"))?;
        let finished = follower.run(&mut nowhere, |_, _| tap, |_| {}).await;
        finished.error.map_or(Ok(()), |e| Err(e.to_string()))
    };
    let refresher = Refresher {
        engine,
        sampler: Some(sampler),
        degraded,
        ends_complete,
    };
    let state = AppState::new(plan.grouping, plan.filter_text);
    let shown = async {
        match plan.show {
            Show::Screen => screen(refresher, state, plan.delay).await,
            show => batch(refresher, state, plan.delay, plan.frames, show, clock).await,
        }
    };
    tokio::select! {
        ended = events => ended,
        ended = shown => ended,
        ended = stop_signal() => ended,
    }
}

async fn batch(
    mut refresher: Refresher,
    state: AppState,
    delay: Duration,
    frames: Option<u64>,
    show: Show,
    clock: WallClock,
) -> Result<(), String> {
    refresher.prime().await?;
    let mut ticks = interval_at(Instant::now() + delay, delay);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Frames go to standard output through a writer thread: a reader slower than a frame
    // (thousands of rows) makes this loop wait without keeping the ring buffer undrained.
    let mut out = Output::stdout().map_err(|e| format!("cannot set up standard output: {e}"))?;
    let mut shown = 0;
    while frames.is_none_or(|n| shown < n) {
        ticks.tick().await;
        let frame = refresher.frame(&state).await?;
        // Filling the writer's buffer does not fail: write errors come from `send`.
        let _ = match show {
            Show::Json => json::write_frame(&mut out, &frame, &clock),
            _ => text::write_frame(&mut out, &frame, &state),
        };
        refresher.engine.borrow_mut().give_back(frame);
        if let Err(delivery) = out.send().await {
            return delivered(delivery);
        }
        shown += 1;
    }
    delivered(out.finish(None).await)
}

/// How batch output ended: a closed pipe (EPIPE) ends top quietly, any other write error is
/// an error.
fn delivered(delivery: Delivery) -> Result<(), String> {
    match delivery {
        Delivery::Failed(e) => Err(format!("writing output: {e}")),
        Delivery::Complete | Delivery::Closed | Delivery::Unwritten(_) => Ok(()),
    }
}

/// Raw mode and the alternate screen, undone on drop (and by the panic hook).
struct TerminalGuard;

fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
}

impl TerminalGuard {
    fn enter() -> Result<TerminalGuard, String> {
        terminal::enable_raw_mode().map_err(|e| format!("cannot set up the terminal: {e}"))?;
        // From here on the guard restores whatever was changed.
        let guard = TerminalGuard;
        execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)
            .map_err(|e| format!("cannot set up the terminal: {e}"))?;
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// What the terminal sends top.
enum Input {
    Key(Key),
    Resize,
}

/// Reads terminal events on a thread of its own (crossterm's reads block); the channel
/// closes when the terminal does.
fn read_input() -> mpsc::UnboundedReceiver<Input> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || loop {
        let input = match event::read() {
            Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => {
                let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
                match key.code {
                    KeyCode::Char('c') if ctrl => Input::Key(Key::Interrupt),
                    KeyCode::Char(c) => Input::Key(Key::Char(c)),
                    KeyCode::Enter => Input::Key(Key::Enter),
                    KeyCode::Esc => Input::Key(Key::Escape),
                    KeyCode::Backspace => Input::Key(Key::Backspace),
                    _ => continue,
                }
            }
            Ok(Event::Resize(..)) => Input::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(input).is_err() {
            return;
        }
    });
    rx
}

async fn screen(
    mut refresher: Refresher,
    mut state: AppState,
    delay: Duration,
) -> Result<(), String> {
    let guard = TerminalGuard::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))
        .map_err(|e| format!("cannot set up the terminal: {e}"))?;
    let mut input = read_input();
    refresher.prime().await?;
    let mut ticks = interval_at(Instant::now() + delay, delay);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut shown: Option<Frame> = None;
    loop {
        // A terminal that cannot be drawn on has gone away: end quietly.
        if terminal
            .draw(|screen| tui::draw(screen, shown.as_ref(), &state))
            .is_err()
        {
            break;
        }
        tokio::select! {
            _ = ticks.tick() => {
                if !state.paused {
                    let frame = refresher.frame(&state).await?;
                    if let Some(old) = shown.replace(frame) {
                        refresher.engine.borrow_mut().give_back(old);
                    }
                }
            }
            received = input.recv() => match received {
                None => break,
                Some(Input::Resize) => {
                    let _ = terminal.autoresize();
                }
                Some(Input::Key(key)) => match state.key(key) {
                    Outcome::Quit => break,
                    Outcome::Redraw => {
                        if let Some(frame) = &mut shown {
                            state.sort(frame);
                        }
                    }
                    Outcome::Filter(text) => {
                        let words: Vec<String> = text.split_whitespace().map(String::from).collect();
                        let parsed = parse_filter(&words);
                        let result = parsed.map(|filter| refresher.engine.borrow_mut().set_filter(filter));
                        state.filter_result(text, result);
                    }
                },
            },
        }
    }
    drop(terminal);
    drop(guard);
    Ok(())
}
