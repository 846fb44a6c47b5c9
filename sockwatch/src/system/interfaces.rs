//! Network interface names and indexes of the current network namespace.

use std::ffi::{CStr, CString};

/// The index of the interface called `name`.
pub fn index_of(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// The name of the interface with index `ifindex`.
pub fn name_of(ifindex: u32) -> Option<String> {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` has the IF_NAMESIZE bytes if_indextoname writes at most.
    let found = unsafe { libc::if_indextoname(ifindex, name.as_mut_ptr()) };
    if found.is_null() {
        return None;
    }
    // SAFETY: on success if_indextoname leaves a NUL-terminated string in `name`.
    let name = unsafe { CStr::from_ptr(name.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_both_ways() {
        assert_eq!(index_of("lo"), Some(1));
        assert_eq!(name_of(1).as_deref(), Some("lo"));
        assert_eq!(index_of("no-such-if0"), None);
        assert_eq!(index_of("nul\0name"), None);
    }
}
