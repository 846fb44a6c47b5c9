//! `sockwatch follow`: run the configured follower, print the summary line.

use std::process::ExitCode;

use sockwatch::{
    escape::escape_message,
    follow::{FollowError, Follower, Output},
    render::follow::FollowViews,
};

use super::config::follow::FollowPlan;

pub fn run(plan: FollowPlan) -> Result<ExitCode, String> {
    let FollowPlan { config, replay } = plan;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let mut out = Output::stdout().map_err(|e| format!("cannot set up standard output: {e}"))?;
    let finished = runtime.block_on(async {
        let follower = match &replay {
            Some(path) => Follower::replay(config, path)?,
            None => {
                let follower = Follower::start(config)?;
                say(follower.notices());
                follower
            }
        };
        // Once every hook is attached: a quick start shows its first events before.
        let attached = |notices| {
            say(notices);
            eprintln!("sockwatch follow: attached; Ctrl-C to stop");
        };
        Ok::<_, FollowError>(follower.run(&mut out, FollowViews::new, attached).await)
    });
    let finished = finished.map_err(|e| e.to_string())?;
    if let Some(error) = finished.error {
        return Err(error.to_string());
    }
    if !finished.summary.output_closed {
        eprintln!("{}", escape_message(&finished.summary.line()));
        if let Some(reasons) = finished.summary.reasons_line() {
            eprintln!("{reasons}");
        }
    }
    // A writer thread still blocked on a stalled reader ends with the process.
    Ok(ExitCode::SUCCESS)
}

/// Notices of the hooks attached (what the kernel cannot serve, the compromises made).
fn say(notices: Vec<String>) {
    for notice in notices {
        eprintln!("sockwatch follow: {notice}");
    }
}
