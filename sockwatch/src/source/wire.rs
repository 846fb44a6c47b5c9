//! The netlink wire format, read in place: message headers, attributes and fixed-layout
//! structs, all in host byte order, without copying or allocating.

use super::error::DecodeError;

/// `struct nlmsghdr`: length, type, flags, sequence number, port id.
pub(super) const NLMSG_HDRLEN: usize = 16;
pub(super) const NLMSG_NOOP: u16 = 1;
pub(super) const NLMSG_ERROR: u16 = 2;
pub(super) const NLMSG_DONE: u16 = 3;
/// The longest message a sock_diag dump can hold: the kernel builds dump datagrams of at
/// most 32 KiB (netlink_dump caps its buffer there), and a message never spans two.
pub(super) const MAX_DUMP_MESSAGE: usize = 32 << 10;
/// The flag bits netlink keeps in an attribute's type field.
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Netlink lengths are padded to four bytes.
pub(super) const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// The first `N` bytes of `buf` as an array, so that reads at constant offsets below `N`
/// need no further checks.
pub(super) fn prefix<'a, const N: usize>(
    buf: &'a [u8],
    what: &'static str,
) -> Result<&'a [u8; N], DecodeError> {
    buf.get(..N)
        .and_then(|head| head.try_into().ok())
        .ok_or(DecodeError::Short {
            what,
            len: buf.len(),
            need: N,
        })
}

pub(super) fn u16_at<const N: usize>(buf: &[u8; N], at: usize) -> u16 {
    u16::from_ne_bytes([buf[at], buf[at + 1]])
}

pub(super) fn u32_at<const N: usize>(buf: &[u8; N], at: usize) -> u32 {
    u32::from_ne_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

pub(super) fn u64_at<const N: usize>(buf: &[u8; N], at: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&buf[at..at + 8]);
    u64::from_ne_bytes(bytes)
}

/// A socket cookie: the kernel sends it as two host-order u32 words, low word first.
pub(super) fn cookie_at<const N: usize>(buf: &[u8; N], at: usize) -> u64 {
    u64::from(u32_at(buf, at)) | u64::from(u32_at(buf, at + 4)) << 32
}

/// The u8, u32 or u64 at the start of an attribute payload (or message body); None when
/// it is too short.
pub(super) fn first_u8(payload: &[u8]) -> Option<u8> {
    payload.first().copied()
}

pub(super) fn first_u32(payload: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(payload.get(..4)?.try_into().ok()?))
}

pub(super) fn first_u64(payload: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(payload.get(..8)?.try_into().ok()?))
}

/// One netlink message in a buffer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Message<'a> {
    pub kind: u16,
    pub seq: u32,
    /// The bytes after the header, up to the message's own length (padding excluded).
    pub payload: &'a [u8],
}

impl Message<'_> {
    /// The errno of an NLMSG_ERROR, or of an NLMSG_DONE that carries a negative status.
    /// An NLMSG_ERROR with errno 0 is an acknowledgement and reports None.
    pub fn kernel_errno(&self) -> Option<i32> {
        let status = first_u32(self.payload)? as i32;
        match self.kind {
            NLMSG_ERROR | NLMSG_DONE if status < 0 => Some(status.saturating_neg()),
            _ => None,
        }
    }
}

/// Reads the header at the start of `buf`: the message and the padded length it occupies.
pub(super) fn message(buf: &[u8]) -> Result<(Message<'_>, usize), DecodeError> {
    let head = prefix::<NLMSG_HDRLEN>(buf, "netlink message header")?;
    let len = u32_at(head, 0) as usize;
    if len < NLMSG_HDRLEN || len > buf.len() {
        return Err(DecodeError::MessageLength {
            len,
            left: buf.len(),
        });
    }
    let message = Message {
        kind: u16_at(head, 4),
        seq: u32_at(head, 8),
        payload: &buf[NLMSG_HDRLEN..len],
    };
    Ok((message, align4(len).min(buf.len())))
}

/// The messages of one received datagram, in order.
pub(super) fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { rest: buf }
}

pub(super) struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        Some(match message(self.rest) {
            Ok((message, used)) => {
                self.rest = &self.rest[used..];
                Ok(message)
            }
            Err(err) => {
                self.rest = &[];
                Err(err)
            }
        })
    }
}

/// The attributes (`struct rtattr`/`nlattr`) packed in `buf`, as (type, payload) pairs.
/// A malformed length ends the walk with an error; trailing bytes too short to hold an
/// attribute header are padding and ignored, as the kernel's own walkers do.
pub(super) fn attributes(buf: &[u8]) -> Attributes<'_> {
    Attributes { rest: buf }
}

pub(super) struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<(u16, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let head: &[u8; 4] = self.rest.get(..4)?.try_into().ok()?;
        let len = usize::from(u16_at(head, 0));
        let kind = u16_at(head, 2) & NLA_TYPE_MASK;
        if len < 4 || len > self.rest.len() {
            let left = self.rest.len();
            self.rest = &[];
            return Some(Err(DecodeError::AttributeLength { len, left }));
        }
        let payload = &self.rest[4..len];
        self.rest = &self.rest[align4(len).min(self.rest.len())..];
        Some(Ok((kind, payload)))
    }
}

/// Builders for hand-made messages in tests.
#[cfg(test)]
pub(super) mod build {
    use super::{align4, NLMSG_HDRLEN};

    /// Appends one attribute, padded.
    pub fn attr(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
        let len = 4 + payload.len();
        buf.extend_from_slice(&(len as u16).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(payload);
        buf.resize(align4(buf.len()), 0);
    }

    /// A whole message: header, then `payload`, padded.
    pub fn message(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut buf = Vec::with_capacity(NLMSG_HDRLEN + payload.len() + 3);
        buf.extend_from_slice(&((NLMSG_HDRLEN + payload.len()) as u32).to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(payload);
        buf.resize(align4(buf.len()), 0);
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_messages_and_stops_on_a_bad_length() {
        let mut buf = build::message(20, 7, &[1, 2, 3]);
        buf.extend(build::message(NLMSG_DONE, 7, &0i32.to_ne_bytes()));
        let all: Vec<_> = messages(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].payload, &[1, 2, 3]);
        assert_eq!(all[1].kind, NLMSG_DONE);
        assert_eq!(all[1].kernel_errno(), None);

        let mut bad = build::message(20, 7, &[0; 8]);
        bad[0] = 200; // claims more bytes than there are
        let mut walk = messages(&bad);
        assert_eq!(
            walk.next().unwrap().unwrap_err(),
            DecodeError::MessageLength { len: 200, left: 24 }
        );
        assert!(walk.next().is_none());

        let mut tiny = build::message(20, 7, &[]);
        tiny[0] = 3; // shorter than a header
        assert!(messages(&tiny).next().unwrap().is_err());
        assert!(messages(&[1, 2, 3]).next().unwrap().is_err());
    }

    #[test]
    fn error_messages_carry_the_errno() {
        let mut payload = (-2i32).to_ne_bytes().to_vec();
        payload.extend_from_slice(&[0; 16]);
        let buf = build::message(NLMSG_ERROR, 1, &payload);
        let (message, _) = message(&buf).unwrap();
        assert_eq!(message.kernel_errno(), Some(2));
        let ack = build::message(NLMSG_ERROR, 1, &[0; 20]);
        assert_eq!(super::message(&ack).unwrap().0.kernel_errno(), None);
    }

    #[test]
    fn walks_attributes_masking_flag_bits() {
        let mut buf = Vec::new();
        build::attr(&mut buf, 8, &[1]);
        build::attr(&mut buf, 0x8000 | 4, b"cubic\0");
        buf.extend_from_slice(&[0, 0]); // stray padding
        let all: Vec<_> = attributes(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(all, vec![(8, &[1u8][..]), (4, &b"cubic\0"[..])]);

        let mut bad = Vec::new();
        build::attr(&mut bad, 1, &[0; 4]);
        bad[0] = 2; // shorter than its own header
        assert_eq!(
            attributes(&bad).next().unwrap().unwrap_err(),
            DecodeError::AttributeLength { len: 2, left: 8 }
        );
    }

    #[test]
    fn reads_scalars() {
        assert_eq!(first_u8(&[]), None);
        assert_eq!(first_u32(&7u32.to_ne_bytes()), Some(7));
        assert_eq!(first_u32(&[1, 2]), None);
        assert_eq!(first_u64(&(9u64 << 40).to_ne_bytes()), Some(9 << 40));
        let mut words = [0; 8];
        words[..4].copy_from_slice(&5u32.to_ne_bytes());
        words[4..].copy_from_slice(&1u32.to_ne_bytes());
        assert_eq!(cookie_at(&words, 0), (1 << 32) | 5);
    }
}
