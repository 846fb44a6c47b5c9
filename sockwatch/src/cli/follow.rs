//! `sockwatch follow`: arguments to a FollowConfig, the run, the summary line.

use std::{io::Write, process::ExitCode};

use sockwatch::follow::{FollowConfig, Follower, Format, View};

use super::args::FollowArgs;

pub fn run(args: FollowArgs) -> Result<ExitCode, String> {
    let config = FollowConfig {
        view: if args.lifetime {
            View::Lifetime
        } else {
            View::Log
        },
        format: if args.json {
            Format::JsonLines
        } else {
            Format::Text
        },
        count: args.count,
        duration: args.duration,
        all_netns: args.all_netns,
        ring_bytes: args.ring_kib.map_or(0, |kib| kib * 1024),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let summary = runtime.block_on(async {
        let follower = Follower::start(&config)?;
        eprintln!("sockwatch follow: attached; Ctrl-C to stop");
        follower.run(&mut out).await
    });
    let summary = summary.map_err(|e| e.to_string())?;
    let _ = out.flush();
    if !summary.output_closed {
        eprintln!("{}", summary.line());
    }
    Ok(ExitCode::SUCCESS)
}
