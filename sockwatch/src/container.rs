//! Container identity: which cgroup a socket's owner runs in, which container and Kubernetes pod
//! that cgroup belongs to, and the name (`ip netns`) of a network namespace.
//!
//! The eBPF programs report the owner's cgroup id, which is the inode number of its directory
//! in the cgroup2 hierarchy. On hybrid hosts (v1 controllers plus cgroup2 mounted at
//! /sys/fs/cgroup/unified) container runtimes place processes in the v1 hierarchies and leave
//! them at the cgroup2 root, so a root cgroup2 path falls back to the v1 `name=systemd` path of
//! the owning process from /proc/PID/cgroup.

use std::{
    collections::HashMap,
    fs,
    os::unix::fs::MetadataExt,
    path::PathBuf,
    time::{Duration, Instant},
};

use crate::{event::Owner, system::cgroups};

/// What a cgroup path says about the container it belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerIdentity {
    /// The container id (64 hex digits for docker, containerd, cri-o and podman; the machine
    /// name for systemd-nspawn's `machine-NAME.scope`).
    pub container_id: Option<String>,
    /// The Kubernetes pod UID, with dashes.
    pub pod_uid: Option<String>,
}

/// Everything known of an owner's cgroup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgroupIdentity {
    /// The path inside the cgroup hierarchy (`/docker/<id>`), None when unknown.
    pub path: Option<String>,
    pub container: ContainerIdentity,
}

fn is_hex_id(text: &str) -> bool {
    text.len() >= 12 && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The id in `<prefix><id>.scope`, when it is one.
fn scope_id<'a>(component: &'a str, prefix: &str) -> Option<&'a str> {
    let id = component.strip_prefix(prefix)?.strip_suffix(".scope")?;
    is_hex_id(id).then_some(id)
}

/// The container id one path component names, if it names one.
fn component_container(component: &str) -> Option<String> {
    // `crio-conmon-<id>.scope` and `libpod-conmon-<id>.scope` hold the runtime's monitor, not
    // the container: their ids fail the hex test because of the `conmon-` part.
    for prefix in ["docker-", "cri-containerd-", "crio-", "libpod-"] {
        if let Some(id) = scope_id(component, prefix) {
            return Some(id.to_string());
        }
    }
    if let Some(name) = component
        .strip_prefix("machine-")
        .and_then(|rest| rest.strip_suffix(".scope"))
    {
        // machined escapes `-` in machine names as `\x2d`. Only plain names count: the
        // id is printed in columns.
        let name = name.replace("\\x2d", "-");
        let plain = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        return (plain && !name.is_empty()).then_some(name);
    }
    (component.len() == 64 && is_hex_id(component)).then(|| component.to_string())
}

/// The pod UID a component names: `pod<uid>` (cgroupfs driver) or
/// `kubepods[-<qos>]-pod<uid with _ for ->.slice` (systemd driver).
fn component_pod(component: &str) -> Option<String> {
    let uid = match component.strip_suffix(".slice") {
        Some(slice) if slice.starts_with("kubepods") => slice
            .rsplit_once("-pod")
            .map(|(_, uid)| uid.replace('_', "-"))?,
        Some(_) => return None,
        None => component.strip_prefix("pod")?.to_string(),
    };
    let valid = uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    valid.then_some(uid)
}

/// What a cgroup path says: the deepest component naming a container gives its id; a pod UID
/// counts only under a `kubepods` component.
pub fn parse_cgroup_path(path: &str) -> ContainerIdentity {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let container_id = components.iter().rev().find_map(|c| component_container(c));
    let kubepods = components.iter().position(|c| c.starts_with("kubepods"));
    let pod_uid =
        kubepods.and_then(|start| components[start..].iter().find_map(|c| component_pod(c)));
    ContainerIdentity {
        container_id,
        pod_uid,
    }
}

/// The owner's cgroup path from /proc/PID/cgroup's text: the v1 `name=systemd` path, or else
/// the first v1 path that names a container, or else the cgroup2 (`0::`) path; a root path
/// says nothing and is skipped.
fn proc_path(proc_cgroup: &str) -> Option<String> {
    let entries: Vec<(&str, &str)> = proc_cgroup
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            (path != "/").then_some((controllers, path))
        })
        .collect();
    let v1 = |(controllers, _): &&(&str, &str)| !controllers.is_empty();
    entries
        .iter()
        .find(|(controllers, _)| *controllers == "name=systemd")
        .or_else(|| {
            entries
                .iter()
                .filter(v1)
                .find(|(_, path)| parse_cgroup_path(path).container_id.is_some())
        })
        .or_else(|| {
            entries
                .iter()
                .find(|(controllers, _)| controllers.is_empty())
        })
        .map(|(_, path)| path.to_string())
}

/// How often a lookup that missed may walk the hierarchy or /run/netns again.
const RESCAN_EVERY: Duration = Duration::from_secs(1);
/// Bound on the per-process cache of the hybrid fallback (cleared when full).
const MAX_PID_ENTRIES: usize = 16_384;

/// Maps cgroup ids to paths and container identities, with caches.
#[derive(Debug, Default)]
pub struct CgroupResolver {
    by_id: HashMap<u64, String>,
    last_walk: Option<Instant>,
    by_pid: HashMap<u32, Option<String>>,
}

impl CgroupResolver {
    /// The cgroup2 path of a cgroup id, walking the hierarchy again (at most once a second)
    /// when the id is new.
    pub fn v2_path(&mut self, cgroup_id: u64) -> Option<String> {
        if cgroup_id == 0 {
            return None;
        }
        if !self.by_id.contains_key(&cgroup_id)
            && self.last_walk.is_none_or(|at| at.elapsed() >= RESCAN_EVERY)
        {
            self.last_walk = Some(Instant::now());
            self.by_id = cgroups::paths_by_id();
        }
        self.by_id.get(&cgroup_id).cloned()
    }

    fn pid_path(&mut self, pid: u32) -> Option<String> {
        if let Some(known) = self.by_pid.get(&pid) {
            return known.clone();
        }
        if self.by_pid.len() >= MAX_PID_ENTRIES {
            self.by_pid.clear();
        }
        let path = fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .ok()
            .and_then(|text| proc_path(&text));
        self.by_pid.insert(pid, path.clone());
        path
    }

    /// The owner's cgroup path and what it says: the cgroup2 path of `cgroup_id`, or, when
    /// that is the root (hybrid hosts) or cgroup2 is not mounted where sockwatch can see it
    /// (a private mount namespace), the path /proc/PID/cgroup gives.
    pub fn identify(&mut self, cgroup_id: u64, pid: u32) -> CgroupIdentity {
        let mut path = self.v2_path(cgroup_id);
        if path.as_deref().is_none_or(|p| p == "/") && pid != 0 {
            path = self.pid_path(pid).or(path);
        }
        let container = path.as_deref().map(parse_cgroup_path).unwrap_or_default();
        CgroupIdentity { path, container }
    }
}

/// Maps network namespace inodes to their names under /run/netns (as `ip netns` names them).
#[derive(Debug)]
pub struct NetnsNames {
    dir: PathBuf,
    by_inode: HashMap<u32, String>,
    last_scan: Option<Instant>,
}

impl Default for NetnsNames {
    fn default() -> NetnsNames {
        NetnsNames::in_dir(PathBuf::from("/run/netns"))
    }
}

impl NetnsNames {
    pub fn in_dir(dir: PathBuf) -> NetnsNames {
        NetnsNames {
            dir,
            by_inode: HashMap::new(),
            last_scan: None,
        }
    }

    fn scan(&mut self) {
        self.last_scan = Some(Instant::now());
        self.by_inode.clear();
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            // Each name is a bind mount of an nsfs file: its inode is the namespace's.
            if let (Ok(meta), Some(name)) = (fs::metadata(entry.path()), entry.file_name().to_str())
            {
                self.by_inode.insert(meta.ino() as u32, name.to_string());
            }
        }
    }

    /// The name of namespace `inode`, looking again (at most once a second) when unknown.
    pub fn name(&mut self, inode: u32) -> Option<&str> {
        if !self.by_inode.contains_key(&inode)
            && self.last_scan.is_none_or(|at| at.elapsed() >= RESCAN_EVERY)
        {
            self.scan();
        }
        self.by_inode.get(&inode).map(String::as_str)
    }
}

/// Where a socket's owner runs: what follow --container and serve's labels show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnerIdentity {
    pub cgroup_path: Option<String>,
    pub container_id: Option<String>,
    pub pod_uid: Option<String>,
    /// The namespace's name under /run/netns.
    pub netns_name: Option<String>,
}

/// Resolves owners' cgroups and namespaces, with the caches of both.
#[derive(Debug, Default)]
pub struct IdentityResolver {
    cgroups: CgroupResolver,
    netns: NetnsNames,
}

impl IdentityResolver {
    pub fn identify(&mut self, owner: Option<&Owner>, netns: u32) -> OwnerIdentity {
        let cgroup = owner
            .map(|o| self.cgroups.identify(o.cgroup, o.pid))
            .unwrap_or_default();
        OwnerIdentity {
            cgroup_path: cgroup.path,
            container_id: cgroup.container.container_id,
            pod_uid: cgroup.container.pod_uid,
            netns_name: self.netns.name(netns).map(str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f1e6b0c2a9d4e5f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f";
    const POD: &str = "0b6a3c1e-5d4f-4a2b-9c8d-7e6f5a4b3c2d";

    fn id(path: &str) -> (Option<String>, Option<String>) {
        let found = parse_cgroup_path(path);
        (found.container_id, found.pod_uid)
    }

    #[test]
    fn docker_paths() {
        assert_eq!(id(&format!("/docker/{ID}")), (Some(ID.into()), None));
        assert_eq!(
            id(&format!("/system.slice/docker-{ID}.scope")),
            (Some(ID.into()), None)
        );
    }

    #[test]
    fn kubernetes_with_the_systemd_driver() {
        let pod_underscored = POD.replace('-', "_");
        let path = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_underscored}.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(id(&path), (Some(ID.into()), Some(POD.into())));
        let crio = format!("/kubepods.slice/kubepods-pod{pod_underscored}.slice/crio-{ID}.scope");
        assert_eq!(id(&crio), (Some(ID.into()), Some(POD.into())));
    }

    #[test]
    fn kubernetes_with_the_cgroupfs_driver() {
        assert_eq!(
            id(&format!("/kubepods/besteffort/pod{POD}/{ID}")),
            (Some(ID.into()), Some(POD.into()))
        );
        assert_eq!(
            id(&format!("/kubepods/pod{POD}/{ID}")),
            (Some(ID.into()), Some(POD.into()))
        );
        // The pod's own cgroup, with no container below it.
        assert_eq!(id(&format!("/kubepods/pod{POD}")), (None, Some(POD.into())));
    }

    #[test]
    fn podman_crio_and_their_monitors() {
        assert_eq!(
            id(&format!("/machine.slice/libpod-{ID}.scope")),
            (Some(ID.into()), None)
        );
        assert_eq!(
            id(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
            (None, None)
        );
        assert_eq!(id(&format!("/crio-conmon-{ID}.scope")), (None, None));
        assert_eq!(id(&format!("/crio-{ID}.scope")), (Some(ID.into()), None));
    }

    #[test]
    fn systemd_machines_and_plain_services() {
        assert_eq!(
            id("/machine.slice/machine-web\\x2d1.scope"),
            (Some("web-1".into()), None)
        );
        assert_eq!(id("/machine.slice/machine-a\nb.scope"), (None, None));
        assert_eq!(id("/system.slice/nginx.service"), (None, None));
        assert_eq!(id("/user.slice/user-0.slice/session-3.scope"), (None, None));
        assert_eq!(id("/"), (None, None));
        // A pod-looking name outside kubepods is not a pod.
        assert_eq!(id(&format!("/pod{POD}")), (None, None));
        // Too short, or not hex.
        assert_eq!(id("/docker-abc.scope"), (None, None));
        assert_eq!(id(&format!("/docker/{}", "g".repeat(64))), (None, None));
    }

    #[test]
    fn hybrid_fallback_prefers_name_systemd() {
        let text = format!("12:cpu,cpuacct:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/\n");
        assert_eq!(proc_path(&text), Some(format!("/docker/{ID}")));
        let text = format!("12:memory:/docker/{ID}\n1:name=systemd:/\n0::/\n");
        assert_eq!(proc_path(&text), Some(format!("/docker/{ID}")));
        assert_eq!(proc_path("1:name=systemd:/\n0::/\n"), None);
        assert_eq!(
            proc_path("1:name=systemd:/\n0::/system.slice/a.service\n"),
            Some("/system.slice/a.service".into())
        );
    }
}
