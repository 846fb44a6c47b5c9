//! `sockwatch follow`: run the configured follower, print the summary line.

use std::{io::Write, process::ExitCode};

use sockwatch::{escape::escape_message, follow::Follower, render::follow::FollowViews};

use super::config::follow::FollowPlan;

pub fn run(plan: FollowPlan) -> Result<ExitCode, String> {
    let FollowPlan { config, replay } = plan;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let summary = runtime.block_on(async {
        let follower = match &replay {
            Some(path) => Follower::replay(config, path)?,
            None => {
                let follower = Follower::start(config)?;
                for notice in follower.notices() {
                    eprintln!("sockwatch follow: {notice}");
                }
                eprintln!("sockwatch follow: attached; Ctrl-C to stop");
                follower
            }
        };
        let mut views = FollowViews::new(follower.config(), follower.clock());
        follower.run(&mut out, &mut views).await
    });
    let summary = summary.map_err(|e| e.to_string())?;
    let _ = out.flush();
    if !summary.output_closed {
        eprintln!("{}", escape_message(&summary.line()));
    }
    Ok(ExitCode::SUCCESS)
}
