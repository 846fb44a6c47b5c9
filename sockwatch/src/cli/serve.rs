//! `sockwatch serve`: run the configured agent until a signal, print the summary line.

use std::process::ExitCode;

use sockwatch::{escape::escape, serve};

use super::config::serve::ServePlan;

pub fn run(plan: ServePlan) -> Result<ExitCode, String> {
    let ServePlan { follow, serve } = plan;
    let events = if serve.events_enabled() {
        ", /events"
    } else {
        ""
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let summary = runtime
        .block_on(serve::run(follow, serve, |bound, notices| {
            for notice in notices {
                eprintln!("sockwatch serve: {notice}");
            }
            eprintln!(
                "sockwatch serve: listening on http://{bound} (/metrics{events}, /healthz); Ctrl-C to stop"
            );
        }))
        .map_err(|e| e.to_string())?;
    eprintln!(
        "{}",
        escape(summary.line().replacen("follow", "serve", 1).as_bytes())
    );
    Ok(ExitCode::SUCCESS)
}
