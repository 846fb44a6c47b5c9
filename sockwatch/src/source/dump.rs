//! Reading ss's dump files (`ss -D FILE`, read back by ss through TCPDIAG_FILE).
//!
//! The format is the raw netlink replies to ss's TCP requests, datagram after datagram:
//! messages of inet_diag_msg and attributes, an NLMSG_DONE closing each request's dump (ss
//! writes one for IPv4, then one for IPv6). Nothing says which protocol the sockets use;
//! they are TCP. [`super::snapshot_tee`] writes the same format.
//!
//! Read as ss reads it: up to the first NLMSG_DONE, so only the IPv4 half of a dump ss or
//! sockwatch wrote is shown, and whatever follows that message is ignored.

use std::io::{self, BufReader, Read};

use super::error::{DecodeError, DumpError, SourceError};
use super::inet;
use super::wire::{
    self, align4, MAX_DUMP_MESSAGE, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP,
};
use crate::model::{Netid, SocketRecord};

/// Decodes a dump file up to its first NLMSG_DONE, handing each socket to `sink` in file
/// order. A file that ends before that message, or holds a garbled one, is an error naming
/// the byte offset of the message at fault (the sockets before it have reached the sink by
/// then).
pub fn snapshot_from_dump(
    reader: impl Read,
    mut sink: impl FnMut(SocketRecord),
) -> Result<(), SourceError> {
    let mut reader = BufReader::with_capacity(64 << 10, reader);
    let mut message = Vec::new();
    let mut offset = 0u64;
    loop {
        message.clear();
        let got = (&mut reader)
            .take(NLMSG_HDRLEN as u64)
            .read_to_end(&mut message)
            .map_err(DumpError::Io)?;
        if got == 0 {
            return Err(DumpError::MissingDone { offset }.into());
        }
        if got < NLMSG_HDRLEN {
            return Err(DumpError::Truncated { offset }.into());
        }
        let declared = u32::from_ne_bytes([message[0], message[1], message[2], message[3]]);
        let len = declared as usize;
        if len < NLMSG_HDRLEN {
            let reason = DecodeError::MessageLength { len, left: got };
            return Err(DumpError::Malformed { offset, reason }.into());
        }
        // The kernel never sends more in one message; a larger length is garbage, refused
        // before anything is read, so memory stays bounded whatever the file holds.
        if len > MAX_DUMP_MESSAGE {
            return Err(DumpError::TooLong {
                offset,
                len,
                limit: MAX_DUMP_MESSAGE,
            }
            .into());
        }
        let body = (len - NLMSG_HDRLEN) as u64;
        let got = (&mut reader)
            .take(body)
            .read_to_end(&mut message)
            .map_err(DumpError::Io)?;
        if (got as u64) < body {
            return Err(DumpError::Truncated { offset }.into());
        }
        skip_padding(&mut reader, align4(len) - len)?;

        let (parsed, _) =
            wire::message(&message).map_err(|reason| DumpError::Malformed { offset, reason })?;
        match parsed.kind {
            NLMSG_DONE => return Ok(()),
            NLMSG_ERROR => {
                if let Some(errno) = parsed.kernel_errno() {
                    return Err(DumpError::Kernel { offset, errno }.into());
                }
            }
            NLMSG_NOOP => {}
            _ => {
                let record = inet::decode(parsed.payload, Netid::Tcp)
                    .map_err(|reason| DumpError::Malformed { offset, reason })?;
                sink(record);
            }
        }
        offset += align4(len) as u64;
    }
}

/// Consumes the padding after a message; a file may end without it.
fn skip_padding(reader: &mut impl Read, len: usize) -> Result<(), DumpError> {
    io::copy(&mut reader.take(len as u64), &mut io::sink())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, SockState};
    use crate::source::inet::build::{inet_diag_msg, v4};
    use crate::source::wire::build::message;

    const SOCK_DIAG_BY_FAMILY: u16 = 20;

    fn socket(port: u16) -> Vec<u8> {
        let payload = inet_diag_msg(
            libc::AF_INET as u8,
            10,
            (port, 0),
            (v4([127, 0, 0, 1]), [0; 16]),
        );
        message(SOCK_DIAG_BY_FAMILY, 1, &payload)
    }

    fn done() -> Vec<u8> {
        message(NLMSG_DONE, 1, &0i32.to_ne_bytes())
    }

    fn read(bytes: &[u8]) -> (Vec<SocketRecord>, Result<(), SourceError>) {
        let mut records = Vec::new();
        let result = snapshot_from_dump(bytes, |r| records.push(r));
        (records, result)
    }

    fn dump_error(bytes: &[u8]) -> DumpError {
        match read(bytes).1 {
            Err(SourceError::Dump(err)) => err,
            other => panic!("expected a dump error, got {other:?}"),
        }
    }

    #[test]
    fn reads_up_to_the_first_done_as_ss_does() {
        // The second dump (ss writes IPv6 there) and any trailing bytes are not read.
        let file = [
            socket(22),
            socket(80),
            done(),
            socket(443),
            done(),
            vec![1, 2],
        ]
        .concat();
        let (records, result) = read(&file);
        result.unwrap();
        let ports: Vec<_> = records
            .iter()
            .map(|r| match r.local {
                Endpoint::Inet { port, .. } => port,
                _ => 0,
            })
            .collect();
        assert_eq!(ports, [22, 80]);
        assert!(records
            .iter()
            .all(|r| r.netid == Netid::Tcp && r.state == SockState::Listen));
    }

    #[test]
    fn an_empty_dump_is_just_done() {
        let (records, result) = read(&done());
        result.unwrap();
        assert!(records.is_empty());
    }

    #[test]
    fn truncation_is_reported_at_the_message_it_cuts() {
        let file = [socket(22), socket(80), done()].concat();
        let second = socket(22).len() as u64;
        for cut in [second + 3, second + 20, file.len() as u64 - 2] {
            let (_, result) = read(&file[..cut as usize]);
            let expected = if cut > 2 * second { 2 * second } else { second };
            match result {
                Err(SourceError::Dump(DumpError::Truncated { offset })) => {
                    assert_eq!(offset, expected, "cut at {cut}")
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        // Cut cleanly between messages: no closing NLMSG_DONE.
        let (records, result) = read(&file[..2 * second as usize]);
        assert_eq!(records.len(), 2);
        assert!(matches!(
            result,
            Err(SourceError::Dump(DumpError::MissingDone { offset })) if offset == 2 * second
        ));
        assert!(matches!(
            dump_error(&[]),
            DumpError::MissingDone { offset: 0 }
        ));
    }

    #[test]
    fn garbage_is_reported_not_panicked_on() {
        // A length below the header size.
        let mut tiny = socket(22);
        tiny[..4].copy_from_slice(&4u32.to_ne_bytes());
        assert!(matches!(
            dump_error(&tiny),
            DumpError::Malformed { offset: 0, .. }
        ));

        // A length no kernel sends: refused before reading on.
        let mut huge = socket(22);
        huge[..4].copy_from_slice(&0x4000_0010u32.to_ne_bytes());
        let err = dump_error(&huge);
        assert!(matches!(
            err,
            DumpError::TooLong {
                offset: 0,
                len: 0x4000_0010,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "byte 0: message length 1073741840 is longer than the 32768 bytes a sock_diag dump message can be"
        );
        // The largest length the kernel could send is read on (here: cut short).
        let mut largest = socket(22);
        largest[..4].copy_from_slice(&(MAX_DUMP_MESSAGE as u32).to_ne_bytes());
        assert!(matches!(
            dump_error(&largest),
            DumpError::Truncated { offset: 0 }
        ));

        // A message too short for an inet_diag_msg, after a good one.
        let file = [
            socket(22),
            message(SOCK_DIAG_BY_FAMILY, 1, &[2, 1, 0, 0]),
            done(),
        ]
        .concat();
        let at = socket(22).len() as u64;
        let err = dump_error(&file);
        assert!(
            matches!(err, DumpError::Malformed { offset, .. } if offset == at),
            "{err}"
        );
        assert!(err
            .to_string()
            .starts_with(&format!("byte {at}: inet_diag_msg is 4 bytes")));

        // Text is not a dump.
        assert!(matches!(
            dump_error(b"this is not a netlink dump at all, no sir\n"),
            DumpError::Truncated { .. } | DumpError::Malformed { .. } | DumpError::TooLong { .. }
        ));

        // Deterministic noise of many lengths: always an error or records, never a panic.
        let mut state = 0x2545_f491u32;
        for len in 0..300 {
            let noise: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            let _ = read(&noise);
        }
    }

    #[test]
    fn kernel_errors_in_the_dump_are_reported() {
        let mut error = (-libc::EPERM).to_ne_bytes().to_vec();
        error.extend_from_slice(&[0; 16]);
        let file = [socket(22), message(NLMSG_ERROR, 1, &error)].concat();
        let err = dump_error(&file);
        assert!(matches!(err, DumpError::Kernel { errno, .. } if errno == libc::EPERM));
        assert!(err.to_string().contains("Operation not permitted"));
    }
}
