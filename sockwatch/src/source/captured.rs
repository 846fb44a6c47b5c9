//! Reply datagrams captured from real kernels (testdata/*.hex, made by testdata/capture.sh),
//! for the decoders' unit tests.

use super::wire::messages;

const SOCK_DIAG_BY_FAMILY: u16 = 20;

/// The socket messages' payloads of a capture: one datagram a line, in hex.
pub(super) fn payloads(hex: &str) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    for line in hex.lines().filter(|line| !line.is_empty()) {
        let bytes: Vec<u8> = (0..line.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&line[at..at + 2], 16).expect("hex"))
            .collect();
        for message in messages(&bytes) {
            let message = message.expect("a whole netlink message");
            if message.kind == SOCK_DIAG_BY_FAMILY {
                payloads.push(message.payload.to_vec());
            }
        }
    }
    payloads
}
