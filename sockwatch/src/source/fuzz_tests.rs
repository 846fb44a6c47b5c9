//! Property tests of the parsers that are private to the sources: /proc/net/raw{,6}. (The
//! public parsers are fuzzed in tests/fuzz_inputs.rs.) PROPTEST_CASES sets the case count.

use std::{io::BufReader, path::Path};

use proptest::prelude::*;

use super::{proc_raw, query::StateMask, SourceError};
use crate::model::{Endpoint, SocketRecord};

/// Parses `text` as /proc/net/raw (or raw6); the records, or the error.
fn parse(text: &[u8], v6: bool) -> Result<Vec<SocketRecord>, SourceError> {
    let mut records = Vec::new();
    proc_raw::parse(
        BufReader::new(text),
        crate::model::Netid::Raw,
        v6,
        Path::new("/proc/net/raw"),
        StateMask::ALL,
        &mut |r| records.push(r),
    )?;
    Ok(records)
}

fn assert_one_clear_line(error: &SourceError) {
    let text = error.to_string();
    assert!(
        text.contains("/proc/net/raw"),
        "the error names the file: {text}"
    );
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(text.len() < 512, "{text:?}");
}

/// A field of a raw socket line: valid hex of the right width, or something close to it.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9A-F]{8}:[0-9A-F]{4}",
        "[0-9A-F]{32}:[0-9A-F]{4}",
        "[0-9A-F]{1,3}",
        "[0-9A-F]{8}:[0-9A-F]{8}",
        "[0-9]{1,12}",
        "-?[0-9a-fA-F+]{0,20}:?[0-9a-fA-Z]{0,9}",
        "\\PC{0,10}",
    ]
}

fn line() -> impl Strategy<Value = String> {
    prop::collection::vec(field(), 0..16).prop_map(|fields| format!("  1: {}", fields.join(" ")))
}

/// A header line, then lines of raw-socket-like fields.
fn file() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(line(), 0..6)
            .prop_map(|lines| format!("  sl  local_address ...\n{}\n", lines.join("\n")).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..600),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            ProptestConfig::default().cases
        } else {
            300
        },
        ..ProptestConfig::default()
    })]

    #[test]
    fn raw_files_parse_or_fail_clearly(text in file(), v6 in any::<bool>()) {
        match parse(&text, v6) {
            Err(error) => assert_one_clear_line(&error),
            Ok(records) => {
                for record in records {
                    // The local "port" is the protocol; addresses have the file's family.
                    let Endpoint::Inet { addr, .. } = record.local else {
                        panic!("raw socket with a non-inet endpoint: {record:?}");
                    };
                    prop_assert_eq!(addr.is_ipv6(), v6);
                }
            }
        }
    }

    /// A well-formed line reads back: address, protocol, queues, uid, inode.
    #[test]
    fn well_formed_lines_read_back(
        addr in any::<u32>(),
        protocol in any::<u16>(),
        state in 1u8..12,
        queues in any::<(u32, u32)>(),
        uid in any::<u32>(),
        inode in any::<u64>(),
    ) {
        let text = format!(
            "header\n   1: {addr:08X}:{protocol:04X} 00000000:0000 {state:02X} {:08X}:{:08X} \
             00:00000000 00000000 {uid} 0 {inode} 2 0000000000000000 0\n",
            queues.0, queues.1
        );
        let records = parse(text.as_bytes(), false).expect("a well-formed line");
        prop_assert_eq!(records.len(), 1);
        let record = &records[0];
        let Endpoint::Inet { addr: local, port, .. } = record.local else {
            panic!("not inet: {record:?}");
        };
        prop_assert_eq!(local.to_string(), std::net::Ipv4Addr::from(addr.to_ne_bytes()).to_string());
        prop_assert_eq!(port, protocol);
        prop_assert_eq!((record.send_q, record.recv_q), queues);
        prop_assert_eq!((record.uid, record.inode, record.state.kernel()), (uid, inode, state));
    }
}
