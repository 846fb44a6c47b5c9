//! The man page and the shell completions the binary generates, read by the real tools:
//! man(1) renders `sockwatch man` without a warning, and bash completes commands, options
//! and values from `sockwatch completions bash`.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use sockwatch_tests::sockwatch_bin;

fn sockwatch(args: &[&str]) -> Vec<u8> {
    let output = Command::new(sockwatch_bin())
        .args(args)
        .output()
        .expect("sockwatch runs");
    assert!(
        output.status.success(),
        "sockwatch {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// `man -l -` on `page`, 80 columns wide, with groff's warnings kept.
fn man(page: &[u8]) -> Output {
    let mut child = Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "80")
        .env("MAN_KEEP_STDERR", "1")
        .env("MANPAGER", "cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("man(1) is installed (package man-db)");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(page)
        .expect("man reads the page");
    child.wait_with_output().expect("man finishes")
}

#[test]
fn the_man_page_renders_with_a_section_per_command() {
    let rendered = man(&sockwatch(&["man"]));
    let text = String::from_utf8_lossy(&rendered.stdout);
    let warnings = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success(), "man failed: {warnings}");
    assert!(warnings.trim().is_empty(), "man warned: {warnings}");
    assert!(text.starts_with("SOCKWATCH(8)"), "{text}");
    for heading in [
        "NAME",
        "SYNOPSIS",
        "COMMANDS",
        "SOCKWATCH SNAPSHOT",
        "SOCKWATCH FOLLOW",
        "SOCKWATCH NETSTAT",
        "SOCKWATCH COMPLETIONS",
        "SOCKWATCH MAN",
    ] {
        assert!(
            text.lines().any(|line| line == heading),
            "no {heading} section in:\n{text}"
        );
    }
    // Options of each command, as --help words them.
    for option in ["--numeric-hosts", "--ring-kib", "--no-header"] {
        assert!(text.contains(option), "{option} missing");
    }
}

/// What bash's completion function offers for the words typed so far (the last one being
/// completed), after loading `sockwatch completions bash` as bash-completion would.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let script = String::from_utf8(sockwatch(&["completions", "bash"])).expect("UTF-8");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let current = words.last().expect("a word to complete");
    let previous = words.get(words.len().wrapping_sub(2)).unwrap_or(&"");
    let driver = format!(
        "{script}\n\
         complete -p sockwatch >/dev/null || exit 3\n\
         COMP_WORDS=({words})\n\
         COMP_CWORD={cword}\n\
         COMP_LINE='{line}'\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _sockwatch sockwatch '{current}' '{previous}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = quoted.join(" "),
        cword = words.len() - 1,
        line = words.join(" "),
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &driver])
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_commands_options_and_values() {
    assert_eq!(bash_completes(&["sockwatch", "sn"]), ["snapshot"]);
    let commands = bash_completes(&["sockwatch", ""]);
    for command in ["snapshot", "follow", "netstat", "completions", "man"] {
        assert!(commands.iter().any(|c| c == command), "{commands:?}");
    }
    assert_eq!(
        bash_completes(&["sockwatch", "netstat", "--numeric-h"]),
        ["--numeric-hosts"]
    );
    let follow = bash_completes(&["sockwatch", "follow", "--r"]);
    assert!(follow.iter().any(|o| o == "--ring-kib"), "{follow:?}");
    let shells = bash_completes(&["sockwatch", "completions", ""]);
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.iter().any(|s| s == shell), "{shells:?}");
    }
}

/// `-f`/`--family` and netstat's `-A` offer family names, never file names (the folder the
/// test runs in has files, so a file completion would show).
#[test]
fn bash_completes_family_names() {
    // ss 6.1's `-f` names (`ss --help`: inet|inet6|link|unix|netlink|vsock|tipc|xdp).
    let all = [
        "inet", "inet6", "link", "unix", "netlink", "vsock", "tipc", "xdp",
    ];
    for flag in ["-f", "--family"] {
        let mut offered = bash_completes(&["sockwatch", "snapshot", flag, ""]);
        offered.sort();
        let mut expected = all.to_vec();
        expected.sort();
        assert_eq!(offered, expected, "{flag}");
    }
    assert_eq!(
        bash_completes(&["sockwatch", "snapshot", "-f", "in"]),
        ["inet", "inet6"]
    );
    assert_eq!(
        bash_completes(&["sockwatch", "snapshot", "--family", "v"]),
        ["vsock"]
    );
    // snapshot's -A takes ss's table names (`ss --help`'s QUERY list).
    let queries = bash_completes(&["sockwatch", "snapshot", "-A", ""]);
    for query in [
        "all",
        "inet",
        "tcp",
        "unix_stream",
        "vsock_dgram",
        "tipc",
        "xdp",
    ] {
        assert!(queries.iter().any(|q| q == query), "{query}: {queries:?}");
    }
    assert_eq!(
        bash_completes(&["sockwatch", "snapshot", "--query", "vsock_"]),
        ["vsock_stream", "vsock_dgram"]
    );
    let mut netstat = bash_completes(&["sockwatch", "netstat", "-A", ""]);
    netstat.sort();
    assert_eq!(netstat, ["inet", "inet6", "unix"]);
}

/// Completion offers names; the command still judges what is typed, in ss's words.
#[test]
fn family_words_are_judged_as_ss_judges_them() {
    let bad = Command::new(sockwatch_bin())
        .args(["snapshot", "-f", "bogus"])
        .output()
        .expect("sockwatch runs");
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&bad.stderr),
        "sockwatch: \"bogus\" is invalid family\n"
    );
}
