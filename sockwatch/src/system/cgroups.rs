//! cgroup v2: where the hierarchy is mounted, and the id of a cgroup (on 64-bit kernels the
//! inode number of its cgroupfs directory) both ways.

use std::{
    collections::HashMap,
    ffi::OsStr,
    fs,
    os::unix::{ffi::OsStrExt, fs::MetadataExt},
    path::{Path, PathBuf},
};

/// Where the cgroup2 file system is mounted, from /proc/self/mounts.
pub fn cgroup2_mount() -> Option<PathBuf> {
    cgroup2_mount_in(&crate::bounded::read_bytes("/proc/self/mounts").ok()?)
}

/// The first cgroup2 mount point of a mounts(5) table (`device dir type options ...`,
/// fields separated by single spaces).
fn cgroup2_mount_in(mounts: &[u8]) -> Option<PathBuf> {
    mounts.split(|&b| b == b'\n').find_map(|line| {
        let mut fields = line.split(|&b| b == b' ');
        let (_, dir, fs_type) = (fields.next()?, fields.next()?, fields.next()?);
        (fs_type == b"cgroup2")
            .then(|| PathBuf::from(OsStr::from_bytes(&unescape_mount_field(dir))))
    })
}

/// Undoes the `\NNN` octal escapes the kernel writes for space, tab, newline and backslash
/// in mount paths; anything else is kept as it is.
fn unescape_mount_field(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(value as u8);
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

/// The id of a cgroup v2 directory, given as a path or relative to the cgroup2 mount.
pub fn id_of(path: &str) -> Option<u64> {
    if let Ok(metadata) = fs::metadata(path) {
        return Some(metadata.ino());
    }
    let relative = path.trim_start_matches('/');
    if relative.is_empty() {
        return None;
    }
    let metadata = fs::metadata(cgroup2_mount()?.join(relative)).ok()?;
    Some(metadata.ino())
}

/// Every cgroup below the cgroup2 mount by id, as paths below it ("/" for the root); empty
/// when there is no cgroup2 mount.
pub fn paths_by_id() -> HashMap<u64, String> {
    cgroup2_mount()
        .map(|mount| paths_below(&mount))
        .unwrap_or_default()
}

fn paths_below(mount: &Path) -> HashMap<u64, String> {
    let mut paths = HashMap::new();
    let Ok(root) = fs::metadata(mount) else {
        return paths;
    };
    let root_dev = root.dev();
    let mut pending = vec![(mount.to_path_buf(), root)];
    while let Some((dir, meta)) = pending.pop() {
        let relative = match dir.strip_prefix(mount) {
            Ok(rel) if rel.as_os_str().is_empty() => "/".to_string(),
            Ok(rel) => format!("/{}", rel.to_string_lossy()),
            Err(_) => continue,
        };
        paths.insert(meta.ino(), relative);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // symlink_metadata: do not follow links; stay on this file system like ss.
            if let Ok(child) = entry.path().symlink_metadata() {
                if child.is_dir() && child.dev() == root_dev {
                    pending.push((entry.path(), child));
                }
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_fields_unescape() {
        assert_eq!(unescape_mount_field(b"/sys/fs/cgroup"), b"/sys/fs/cgroup");
        assert_eq!(
            unescape_mount_field(br"/mnt/with\040space"),
            b"/mnt/with space"
        );
        assert_eq!(unescape_mount_field(br"/odd\04"), br"/odd\04");
        assert_eq!(unescape_mount_field(br"/not\999octal"), br"/not\999octal");
    }

    #[test]
    fn the_cgroup2_line_of_a_mounts_table() {
        let table = b"proc /proc proc rw 0 0\ncgroup /old cgroup rw 0 0\n\
            cgroup2 /sys/fs/my\\040cgroup cgroup2 rw,nosuid 0 0\n";
        assert_eq!(
            cgroup2_mount_in(table),
            Some(PathBuf::from("/sys/fs/my cgroup"))
        );
        assert_eq!(cgroup2_mount_in(b"proc /proc proc rw 0 0\n"), None);
    }

    #[test]
    fn the_root_cgroup_has_an_id_and_a_path() {
        let mount = cgroup2_mount().expect("cgroup2 is mounted");
        let id = id_of(mount.to_str().expect("a UTF-8 mount path")).expect("the root's id");
        assert_eq!(paths_by_id().get(&id).map(String::as_str), Some("/"));
    }
}
