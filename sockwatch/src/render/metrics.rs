//! serve's /metrics as text: the metric families, their names, help and labels, and their
//! exposition through the prometheus-client crate (Prometheus text 0.0.4 or OpenMetrics, as
//! the scraper asks). serve counts into the families; its HTTP thread asks for the text.

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::{exponential_buckets, Histogram},
    },
    registry::{Metric, Registry},
};

use crate::model::SockState;

/// Who a connection belongs to, as labels: the process name and its container (empty when
/// unknown or not in a container).
#[derive(Clone, Debug, Default, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OwnerLabels {
    pub process: String,
    pub container: String,
    pub pod_uid: String,
    pub netns: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnLabels {
    /// `connect` (this host opened it) or `accept` (a listener here accepted it).
    pub direction: &'static str,
    #[prometheus(flatten)]
    pub owner: OwnerLabels,
}

/// A connection's end: closed after it was established, or a connect that failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndLabels {
    pub direction: &'static str,
    /// Why it ended, follow's reason (`normal`, `reset-sent`, `refused`, ...; `unknown` when
    /// the kernel lacks a hook that would tell).
    pub reason: &'static str,
    #[prometheus(flatten)]
    pub owner: OwnerLabels,
}

/// A listener's drops: why (`listen-overflow`, `syn-queue-overflow`, `other`) and whose.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DropLabels {
    pub reason: &'static str,
    #[prometheus(flatten)]
    pub owner: OwnerLabels,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    pub direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LostLabels {
    /// `kernel` (the ring buffer was full) or `events_client` (an /events reader fell behind).
    pub stage: &'static str,
}

fn duration_histogram() -> Histogram {
    // 1 ms to ~9 hours.
    Histogram::new(exponential_buckets(0.001, 4.0, 14))
}

fn latency_histogram() -> Histogram {
    // 50 µs to ~3.3 s (a SYN retried twice still lands in a bucket below +Inf).
    Histogram::new(exponential_buckets(0.000_05, 3.0, 11))
}

type HistogramFamily = Family<DirectionLabels, Histogram, fn() -> Histogram>;

/// Every metric serve exports. Counters and gauges are atomics, so the HTTP thread encodes
/// them while the event loop updates them, without a lock on the event path beyond the
/// families' own.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub opened: Family<ConnLabels, Counter>,
    pub closed: Family<EndLabels, Counter>,
    pub failed: Family<EndLabels, Counter>,
    pub retransmits: Family<OwnerLabels, Counter>,
    pub listen_drops: Family<DropLabels, Counter>,
    pub sockets: Family<StateLabels, Gauge>,
    pub events_lost: Family<LostLabels, Counter>,
    pub events: Counter,
    pub duration: HistogramFamily,
    pub connect_latency: HistogramFamily,
}

/// Each metric's name and help text.
const OPENED: (&str, &str) = (
    "sockwatch_connections_opened",
    "TCP connections that reached ESTABLISHED, by direction, process and container",
);
const CLOSED: (&str, &str) = (
    "sockwatch_connections_closed",
    "Connections counted as opened that the kernel has since destroyed, by why they ended",
);
const FAILED: (&str, &str) = (
    "sockwatch_connections_failed",
    "Connects that failed before ESTABLISHED (after SYN_SENT, or before any SYN), by why",
);
const RETRANSMITS: (&str, &str) = (
    "sockwatch_retransmits",
    "TCP segments retransmitted (data, SYN, SYN-ACK), as they happen and from each socket's total at its end",
);
const LISTEN_DROPS: (&str, &str) = (
    "sockwatch_listen_drops",
    "SYNs and handshake ACKs listeners dropped (full accept or SYN queue), by listener owner",
);
const SOCKETS: (&str, &str) = (
    "sockwatch_sockets",
    "TCP sockets now, by kernel state (of those the filter admits)",
);
const EVENTS_LOST: (&str, &str) = (
    "sockwatch_events_lost",
    "Events lost: the kernel's ring buffer was full, or an /events reader fell behind",
);
const EVENTS: (&str, &str) = ("sockwatch_events", "Socket events received from the kernel");
const DURATION: (&str, &str) = (
    "sockwatch_connection_duration_seconds",
    "Lifetime of connections counted as opened, from first sight to destruction",
);
const CONNECT_LATENCY: (&str, &str) = (
    "sockwatch_connect_latency_seconds",
    "Time from SYN_SENT to ESTABLISHED of outgoing connections",
);

/// `metric`, registered as `name` with `help`: the registry encodes the values the returned
/// handle updates (prometheus-client's metrics are shared handles).
fn registered<M: Metric + Clone>(
    registry: &mut Registry,
    (name, help): (&str, &str),
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::default();
        let events_lost: Family<LostLabels, Counter> = Family::default();
        // Present at zero from the start, so that a loss shows as a change, not a new series.
        for stage in ["kernel", "events_client"] {
            events_lost.get_or_create(&LostLabels { stage }).inc_by(0);
        }
        let opened = registered(&mut registry, OPENED, Family::default());
        let closed = registered(&mut registry, CLOSED, Family::default());
        let failed = registered(&mut registry, FAILED, Family::default());
        let retransmits = registered(&mut registry, RETRANSMITS, Family::default());
        let listen_drops = registered(&mut registry, LISTEN_DROPS, Family::default());
        let sockets = registered(&mut registry, SOCKETS, Family::default());
        let events_lost = registered(&mut registry, EVENTS_LOST, events_lost);
        let events = registered(&mut registry, EVENTS, Counter::default());
        let duration: HistogramFamily = registered(
            &mut registry,
            DURATION,
            Family::new_with_constructor(duration_histogram),
        );
        let connect_latency: HistogramFamily = registered(
            &mut registry,
            CONNECT_LATENCY,
            Family::new_with_constructor(latency_histogram),
        );
        registry.register_collector(Box::new(SystemCollector));
        Metrics {
            registry,
            opened,
            closed,
            failed,
            retransmits,
            listen_drops,
            sockets,
            events_lost,
            events,
            duration,
            connect_latency,
        }
    }
}

/// The Content-Type of OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Metrics {
    /// The whole exposition, in OpenMetrics when `openmetrics`, else Prometheus text 0.0.4.
    pub fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let mut text = String::with_capacity(16 * 1024);
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        }
        Ok(text)
    }
}

/// Read at each scrape: sockwatch's own CPU time and memory.
#[derive(Debug)]
struct SystemCollector;

/// CPU seconds and resident bytes of this process, from /proc/self/stat.
fn own_usage() -> Option<(f64, i64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // SAFETY: sysconf only reads configuration values.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    parse_own_usage(&stat, ticks as f64, page)
}

/// utime and stime (fields 14 and 15) in seconds, rss (field 24) in bytes. The fields are
/// counted after the command name, which may itself hold spaces and parentheses.
fn parse_own_usage(stat: &str, ticks_per_second: f64, page_bytes: i64) -> Option<(f64, i64)> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // after_comm starts at field 3 (state).
    let field = |n: usize| fields.get(n - 3)?.parse::<i64>().ok();
    let cpu = (field(14)? + field(15)?) as f64 / ticks_per_second;
    Some((cpu, field(24)? * page_bytes))
}

impl Collector for SystemCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some((cpu, rss)) = own_usage() {
            let counter = ConstCounter::new(cpu);
            counter.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "CPU time sockwatch has used, user and system",
                None,
                counter.metric_type(),
            )?)?;
            let gauge = ConstGauge::new(rss);
            gauge.encode(encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "sockwatch's resident memory",
                None,
                gauge.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

impl Metrics {
    /// Sets the per-state gauges from a count per kernel state number.
    pub fn set_socket_states(&self, counts: &[i64; 16]) {
        for state in SockState::ALL {
            self.sockets
                .get_or_create(&StateLabels {
                    state: state.kernel_name(),
                })
                .set(counts[usize::from(state.kernel())]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_and_memory_from_stat() {
        let stat = "42 (a) b) S 1 42 42 0 -1 4194560 500 0 0 0 150 50 0 0 20 0 3 0 100 123456 2500 18446744073709551615";
        assert_eq!(parse_own_usage(stat, 100.0, 4096), Some((2.0, 2500 * 4096)));
        assert_eq!(parse_own_usage("garbage", 100.0, 4096), None);
    }

    #[test]
    fn encodes_escaped_labels_in_both_formats() {
        let metrics = Metrics::default();
        let owner = OwnerLabels {
            process: "a\"b\\c\nd".into(),
            ..OwnerLabels::default()
        };
        metrics
            .opened
            .get_or_create(&ConnLabels {
                direction: "connect",
                owner,
            })
            .inc();
        let text = metrics.encode(false).expect("encodes");
        assert!(
            text.contains(
                r#"sockwatch_connections_opened_total{direction="connect",process="a\"b\\c\nd",container="",pod_uid="",netns=""} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("# TYPE sockwatch_connections_opened_total counter"));
        let open = metrics.encode(true).expect("encodes");
        assert!(open.ends_with("# EOF\n"));
        assert!(open.contains("# TYPE sockwatch_connections_opened counter"));
    }
}
