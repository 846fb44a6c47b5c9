//! The manual page sockwatch(8) and the shell completions, generated from the clap
//! definitions in [`super::args`] so that they cannot drift from the options.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_mangen::Man;

use super::args::{Cli, Shell};

/// sockwatch(8): the program's name, synopsis and description, the list of commands, then
/// one section per command (its synopsis, what it does, its options and notes), then the
/// version.
pub fn write_man(out: &mut dyn Write) -> io::Result<()> {
    let mut cli = Cli::command();
    // Gives every command its full name ("sockwatch snapshot") for the synopses.
    cli.build();
    let page = Man::new(cli.clone()).section("8").title("SOCKWATCH");
    let mut roff = Vec::new();
    page.render_title(&mut roff)?;
    page.render_name_section(&mut roff)?;
    page.render_synopsis_section(&mut roff)?;
    page.render_description_section(&mut roff)?;
    // clap's own `help` command is left out: `--help` says the same.
    let commands: Vec<&clap::Command> = cli
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        .collect();
    writeln!(roff, ".SH COMMANDS")?;
    for command in &commands {
        let about = command
            .get_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        writeln!(
            roff,
            ".TP\n\\fB{}\\fR\n{}",
            escape(&full_name(command)),
            escape(&about)
        )?;
    }
    for command in commands {
        let name = full_name(command).to_uppercase();
        writeln!(roff, ".SH \"{name}\"")?;
        let mut section = Vec::new();
        let man = Man::new(command.clone());
        man.render_synopsis_section(&mut section)?;
        man.render_description_section(&mut section)?;
        man.render_options_section(&mut section)?;
        if command.get_after_help().is_some() || command.get_after_long_help().is_some() {
            man.render_extra_section(&mut section)?;
        }
        roff.extend(as_subsections(&section));
    }
    page.render_version_section(&mut roff)?;
    out.write_all(&without_repeated_preambles(&roff))
}

/// "sockwatch snapshot" for a built command.
fn full_name(command: &clap::Command) -> String {
    command
        .get_bin_name()
        .unwrap_or_else(|| command.get_name())
        .to_string()
}

/// Text for a roff line: backslashes and hyphens escaped, no line starting with a control
/// character.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.chars().next() {
        Some('.' | '\'') => format!("\\&{escaped}"),
        _ => escaped,
    }
}

/// Every part clap_mangen renders starts with the same two-line string definition; once is
/// enough.
fn without_repeated_preambles(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut seen = std::collections::HashSet::new();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if !preamble || seen.insert(line.to_string()) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// One command's sections as subsections of its own section (`.SH OPTIONS` becomes
/// `.SS Options`; clap's EXTRA, its after-help text, becomes Notes).
fn as_subsections(roff: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(roff);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.strip_prefix(".SH ") {
            Some(heading) => {
                let heading = heading.trim_matches('"');
                let heading = match heading {
                    "EXTRA" => "Notes".to_string(),
                    other => {
                        let mut chars = other.chars();
                        chars.next().map_or(String::new(), |first| {
                            first.to_string() + &chars.as_str().to_lowercase()
                        })
                    }
                };
                out.push_str(&format!(".SS {heading}\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out.into_bytes()
}

/// The completion script of `shell` for every command and option.
pub fn write_completions(shell: Shell, out: &mut dyn Write) {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut cli = Cli::command();
    let name = cli.get_name().to_string();
    clap_complete::generate(shell, &mut cli, name, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn man_page() -> String {
        let mut out = Vec::new();
        write_man(&mut out).expect("written to a Vec");
        String::from_utf8(out).expect("roff is UTF-8")
    }

    #[test]
    fn the_man_page_has_a_section_per_command() {
        let page = man_page();
        assert!(page.contains(".TH SOCKWATCH 8"));
        assert_eq!(page.matches(".el .ds Aq").count(), 1);
        for command in ["SNAPSHOT", "FOLLOW", "NETSTAT", "COMPLETIONS", "MAN"] {
            assert!(
                page.contains(&format!(".SH \"SOCKWATCH {command}\"")),
                "{command}"
            );
        }
        // The commands' own options, under their sections, as subsections.
        assert!(page.contains("\\-\\-ring\\-kib"));
        assert!(page.contains(".SS Options"));
        assert!(page.contains(".SS Notes"));
        assert!(!page.contains(".SH OPTIONS"));
        assert!(page.contains("sockwatch snapshot"));
    }

    #[test]
    fn completions_name_every_command() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            write_completions(shell, &mut out);
            let script = String::from_utf8(out).expect("UTF-8");
            // fish names long options without their dashes.
            for word in ["snapshot", "follow", "netstat", "numeric-hosts"] {
                assert!(script.contains(word), "{shell:?} lacks {word}");
            }
        }
    }

    #[test]
    fn subsection_headings() {
        let roff = b".SH SYNOPSIS\nx\n.SH EXTRA\ny\n.SH \"EXIT STATUS\"\n";
        assert_eq!(
            String::from_utf8(as_subsections(roff)).unwrap(),
            ".SS Synopsis\nx\n.SS Notes\ny\n.SS Exit status\n"
        );
    }
}
