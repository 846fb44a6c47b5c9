//! A cheap hasher for maps keyed by numbers the kernel hands out (socket cookies, inodes,
//! pids): nobody chooses them, so there is no collision attack to resist, and the default
//! SipHash costs more than the lookups around it on paths taken for every event or for every
//! socket of a listing.

use std::hash::{BuildHasherDefault, Hasher};

/// One multiplication per word spreads kernel counters well enough.
#[derive(Default)]
pub struct IntHasher(u64);

impl Hasher for IntHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0 ^ value).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Builds [`IntHasher`]s: `HashMap<K, V, IntHash>`.
pub type IntHash = BuildHasherDefault<IntHasher>;
