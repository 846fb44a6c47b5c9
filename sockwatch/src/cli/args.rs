//! Command-line definitions: every flag, its help, and validation that needs no syscall.

use clap::{Args, Parser, Subcommand};

/// sockwatch: what sockets exist, what they are doing, who owns them, what just happened.
#[derive(Debug, Parser)]
#[command(name = "sockwatch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Stream TCP state transitions live from eBPF (needs root or CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN).
    Follow(FollowArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 when stopped by --count, --duration, a signal or a closed output; 1 on errors.
A summary (events, lost, sockets seen) goes to standard error at the end.")]
pub struct FollowArgs {
    /// One line a finished connection (pid, comm, addresses, bytes each way, duration).
    #[arg(long)]
    pub lifetime: bool,
    /// JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after N lines.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after SECS seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub duration: Option<std::time::Duration>,
    /// Watch every network namespace, not only sockwatch's own.
    #[arg(long)]
    pub all_netns: bool,
    /// Ring buffer size in KiB (a power of two, at least 4).
    #[arg(long, value_name = "KIB", value_parser = parse_ring_kib)]
    pub ring_kib: Option<u32>,
}

fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    std::time::Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("'{text}' is not a valid duration"))
}

fn parse_ring_kib(text: &str) -> Result<u32, String> {
    let kib: u32 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number of KiB"))?;
    if kib < 4 || !kib.is_power_of_two() || kib > 1 << 20 {
        return Err(format!(
            "ring size must be a power of two from 4 to 1048576 KiB, not {kib}"
        ));
    }
    Ok(kib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_ring_sizes() {
        assert_eq!(
            parse_seconds("1.5"),
            Ok(std::time::Duration::from_millis(1500))
        );
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
        assert_eq!(parse_ring_kib("64"), Ok(64));
        assert!(parse_ring_kib("3").is_err());
        assert!(parse_ring_kib("100").is_err());
    }

    #[test]
    fn definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
