//! Dump files (`snapshot_from_dump`): random bytes, every truncation, bit flips and spliced
//! copies of a real dump. Whatever records come out must render as ss text and JSON.
//!
//! The seed, data/ss-tcp.dump, is `ss -tanieomD` in a private network namespace holding
//! listeners on 127.0.0.1:8080 and [::1]:443, an established pair over each (100 and 50
//! unread bytes), and a FIN-WAIT-2 / CLOSE-WAIT pair: 5 IPv4 then 3 IPv6 sockets, each dump
//! closed by NLMSG_DONE, with every attribute -i, -e, -m and -o ask for.

use std::net::IpAddr;

use proptest::prelude::*;
use sockwatch::{
    model::SocketRecord,
    render::{
        json,
        ss::{self, Names, OtherPortNames, SsLayout},
        ShowOptions,
    },
    source::{snapshot_from_dump, SourceError},
    system::services::Transport,
};

use crate::common::{assert_clear_error, config, within};

const SEED: &[u8] = include_bytes!("../data/ss-tcp.dump");
/// Sockets in the whole seed, both halves.
const SEED_SOCKETS: usize = 8;

/// Largest random file tried: several messages' worth.
const MAX_RANDOM_LEN: usize = 2 << 10;

/// No names: every renderer lookup answered "none" without asking the system.
struct NoNames;

impl Names for NoNames {
    fn service(&mut self, _: u16, _: Transport) -> Option<&str> {
        None
    }
    fn ephemeral_ports(&mut self) -> (u16, u16) {
        (32768, 60999)
    }
    fn ip_protocol(&mut self, _: u16) -> Option<&str> {
        None
    }
    fn interface(&mut self, _: u32) -> Option<&str> {
        None
    }
    fn host(&mut self, _: IpAddr) -> Option<&str> {
        None
    }
    fn process(&mut self, _: u32) -> Option<&str> {
        None
    }
    fn cgroup(&mut self, _: u64) -> Option<&str> {
        None
    }
}

/// Everything a dump read gives: the records that reached the sink, and the verdict.
struct Read {
    records: Vec<SocketRecord>,
    result: Result<(), SourceError>,
}

/// Reads `bytes` as a dump.
fn read(bytes: &[u8]) -> Read {
    let mut records = Vec::new();
    let result = snapshot_from_dump(bytes, |r| records.push(r));
    Read { records, result }
}

/// Renders records with every detail option, as ss text (table and one-line forms) and as
/// JSON, which must parse.
fn render(records: &[SocketRecord]) {
    let everything = ShowOptions {
        numeric: true,
        timers: true,
        extended: true,
        memory: true,
        info: true,
        ..ShowOptions::default()
    };
    let oneline = ShowOptions {
        oneline: true,
        ..everything.clone()
    };
    for (show, width) in [(&everything, None), (&oneline, Some(80))] {
        let layout = SsLayout {
            screen_width: width,
            other_port_names: OtherPortNames::Tcp,
            ..SsLayout::default()
        };
        let mut text = Vec::new();
        ss::render_ss(records, show, &layout, &mut NoNames, &mut text).expect("render to memory");
        let mut doc = Vec::new();
        json::write_json(&mut doc, records, show).expect("JSON to memory");
        serde_json::from_slice::<serde_json::Value>(&doc).expect("the JSON output parses");
    }
}

/// Reads `bytes` within the time limit, renders what came out, and checks the error if any.
fn checked_read(what: &str, bytes: Vec<u8>) -> Read {
    let read = within(what, move || {
        let read = read(&bytes);
        render(&read.records);
        read
    });
    if let Err(error) = &read.result {
        assert_clear_error(what, error);
    }
    read
}

/// Offsets where the seed's messages start, and the end.
fn message_starts() -> Vec<usize> {
    let mut starts = vec![0];
    let mut at = 0;
    while at + 4 <= SEED.len() {
        let len = u32::from_ne_bytes(SEED[at..at + 4].try_into().expect("4 bytes")) as usize;
        at += (len + 3) & !3;
        starts.push(at);
    }
    starts
}

/// Where the first NLMSG_DONE ends: like ss, the reader stops there (the IPv4 half of an
/// `ss -D` dump; ss never reads the IPv6 half back).
fn first_done_end() -> usize {
    const NLMSG_DONE: u16 = 3;
    let starts = message_starts();
    starts
        .windows(2)
        .find(|w| u16::from_ne_bytes([SEED[w[0] + 4], SEED[w[0] + 5]]) == NLMSG_DONE)
        .map(|w| w[1])
        .expect("the seed has an NLMSG_DONE")
}

#[test]
fn the_seed_reads_up_to_its_first_done() {
    let read = checked_read("seed", SEED.to_vec());
    read.result.expect("the seed dump is valid");
    assert!(!read.records.is_empty() && read.records.len() < SEED_SOCKETS);
}

/// Every prefix of the seed: an error, except where the cut falls on a message boundary or
/// after the first NLMSG_DONE (where reading stops).
#[test]
fn every_truncation_is_an_error_naming_a_message() {
    let starts = message_starts();
    let done_end = first_done_end();
    for cut in 0..SEED.len() {
        // The records are a prefix of the seed's, rendered in the_seed_reads_up_to_its_first_done.
        let read = read(&SEED[..cut]);
        match read.result {
            Ok(()) => assert!(
                (starts.contains(&cut) && cut > 0) || cut >= done_end,
                "cut at {cut} (inside a message) accepted"
            ),
            Err(error) => {
                assert_clear_error("truncated seed", &error);
                let message = error.to_string();
                let named = starts
                    .iter()
                    .any(|start| message.contains(&format!("byte {start}:")));
                assert!(named, "cut at {cut}: {message} names no message start");
            }
        }
        assert!(read.records.len() <= SEED_SOCKETS);
    }
}

/// A splice of two pieces of the seed: a message boundary in the wrong place.
fn splice() -> impl Strategy<Value = Vec<u8>> {
    (0..=SEED.len(), 0..=SEED.len(), 0..=SEED.len()).prop_map(|(a, b, c)| {
        let (start, end) = (a.min(b), a.max(b));
        let mut bytes = SEED[..c].to_vec();
        bytes.extend_from_slice(&SEED[start..end]);
        bytes
    })
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn random_bytes_are_rejected_clearly(bytes in prop::collection::vec(any::<u8>(), 0..MAX_RANDOM_LEN)) {
        let read = checked_read("random bytes", bytes);
        // Each record takes at least a header and an inet_diag_msg.
        prop_assert!(read.records.len() <= MAX_RANDOM_LEN / (16 + 72));
    }

    #[test]
    fn bit_flips_in_the_seed_never_panic(flips in prop::collection::vec(0..SEED.len() * 8, 1..8)) {
        let mut bytes = SEED.to_vec();
        for bit in flips {
            bytes[bit / 8] ^= 1 << (bit % 8);
        }
        let read = checked_read("flipped seed", bytes);
        prop_assert!(read.records.len() <= SEED_SOCKETS);
    }

    #[test]
    fn overwritten_words_in_the_seed_never_panic(
        writes in prop::collection::vec((0..SEED.len(), any::<u32>()), 1..4)
    ) {
        // Lengths, types and counters set to arbitrary values, not only single-bit changes.
        let mut bytes = SEED.to_vec();
        for (at, value) in writes {
            let at = at.min(SEED.len() - 4);
            bytes[at..at + 4].copy_from_slice(&value.to_ne_bytes());
        }
        checked_read("overwritten seed", bytes);
    }

    #[test]
    fn spliced_seeds_never_panic(bytes in splice()) {
        checked_read("spliced seed", bytes);
    }
}
