//! tracefs, which classic tracepoints need to attach (their ids live there). Many systems do
//! not mount it at boot.

use std::{ffi::CString, path::Path};

const MOUNT_POINT: &str = "/sys/kernel/tracing";

/// Mounts tracefs at /sys/kernel/tracing unless it (or the debugfs copy) is already there.
pub fn ensure_mounted() -> Result<(), String> {
    if Path::new(MOUNT_POINT).join("events").is_dir()
        || Path::new("/sys/kernel/debug/tracing/events").is_dir()
    {
        return Ok(());
    }
    let c = |s: &str| CString::new(s).expect("no NUL in constant");
    let (source, target, fstype) = (c("nodev"), c(MOUNT_POINT), c("tracefs"));
    // SAFETY: mount(2) with valid NUL-terminated strings and no data.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "tracefs is not mounted and mounting it at {MOUNT_POINT} failed: {}",
            std::io::Error::last_os_error()
        ))
    }
}
