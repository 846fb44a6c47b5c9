//! The layer check of `cargo xtask test` (also `cargo xtask layers`): no import cycle between
//! the modules of a crate.
//!
//! Each module's `crate::`, `super::` and `self::` paths (in `use` trees and in code) are
//! resolved to the module they name. A path from module `a::x` to `b::y` makes `a` depend on
//! `b`: the edge joins the two siblings under the deepest module both sit in, so a cycle
//! anywhere shows as a cycle between siblings. A module may use its ancestors' own items
//! and its descendants freely (that is nesting, not layering).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

use crate::{bootstrap::say, cargo::workspace_root};

/// The crate roots checked, relative to the workspace.
const CRATE_ROOTS: [&str; 3] = [
    "sockwatch/src/lib.rs",
    "sockwatch/src/main.rs",
    "xtask/src/main.rs",
];

pub fn check() -> Result<(), String> {
    let root = workspace_root();
    let mut problems = Vec::new();
    for crate_root in CRATE_ROOTS {
        say(&format!("checking {crate_root} for import cycles"));
        let mut graph = ModuleGraph::load(&root.join(crate_root))?;
        for evidence in graph.edges.values_mut() {
            if let Ok(relative) = evidence.file.strip_prefix(&root) {
                evidence.file = relative.to_path_buf();
            }
        }
        problems.extend(
            graph
                .cycles()
                .iter()
                .map(|cycle| format!("{crate_root}: {}", graph.describe(cycle))),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "import cycles between modules (data flows one way; move the shared piece down a \
             layer):\n{}",
            problems.join("\n")
        ))
    }
}

/// A module's path below the crate root (`["follow", "session"]`; the root is empty).
type ModPath = Vec<String>;

/// Where a dependency was seen: file, line and the path as written.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Evidence {
    file: PathBuf,
    line: usize,
    text: String,
}

/// The modules of one crate and which sibling modules use which.
#[derive(Debug, Default)]
struct ModuleGraph {
    modules: BTreeSet<ModPath>,
    /// Sibling edges, each with its first evidence.
    edges: BTreeMap<(ModPath, ModPath), Evidence>,
}

/// One path seen in a module, before resolution.
struct PathUse {
    module: ModPath,
    segments: Vec<String>,
    line: usize,
}

impl ModuleGraph {
    fn load(root_file: &Path) -> Result<ModuleGraph, String> {
        let mut graph = ModuleGraph::default();
        graph.modules.insert(Vec::new());
        let mut uses = Vec::new();
        let mut pending = vec![(Vec::new(), root_file.to_path_buf(), true)];
        while let Some((module, file, owns_dir)) = pending.pop() {
            let text = fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let scan = scan_module(&text, &module);
            let dir = module_dir(&file, owns_dir);
            for child in scan.file_children {
                // A `mod x;` inside an inline module lives in that module's folder.
                let dir = child[module.len()..child.len() - 1]
                    .iter()
                    .fold(dir.clone(), |dir, inline| dir.join(inline));
                let name = child.last().expect("a declared module has a name");
                let flat = dir.join(format!("{name}.rs"));
                let nested = dir.join(name).join("mod.rs");
                let (path, owns) = if flat.is_file() {
                    (flat, false)
                } else if nested.is_file() {
                    (nested, true)
                } else {
                    return Err(format!(
                        "{}: no file for module {}",
                        file.display(),
                        child.join("::")
                    ));
                };
                graph.modules.insert(child.clone());
                pending.push((child, path, owns));
            }
            graph.modules.extend(scan.inline_children);
            uses.extend(scan.uses.into_iter().map(|u| (file.clone(), u)));
        }
        for (file, path_use) in uses {
            graph.add_use(&file, path_use);
        }
        Ok(graph)
    }

    fn add_use(&mut self, file: &Path, path_use: PathUse) {
        let Some(target) = resolve(&path_use.module, &path_use.segments) else {
            return;
        };
        if let Some(edge) = sibling_edge(&path_use.module, &target, &self.modules) {
            self.edges.entry(edge).or_insert_with(|| Evidence {
                file: file.to_path_buf(),
                line: path_use.line,
                text: path_use.segments.join("::"),
            });
        }
    }

    /// Every cycle, one per strongly connected group of modules, each as the modules in order
    /// (the first not repeated at the end).
    fn cycles(&self) -> Vec<Vec<ModPath>> {
        let mut next: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
        for (from, to) in self.edges.keys() {
            next.entry(from).or_default().push(to);
        }
        let mut reported: BTreeSet<ModPath> = BTreeSet::new();
        let mut cycles = Vec::new();
        for start in next.keys() {
            if reported.contains(*start) {
                continue;
            }
            if let Some(cycle) = shortest_cycle_through(start, &next) {
                reported.extend(cycle.iter().cloned());
                cycles.push(cycle);
            }
        }
        cycles
    }

    fn describe(&self, cycle: &[ModPath]) -> String {
        let names: Vec<String> = cycle
            .iter()
            .chain(cycle.first())
            .map(|m| module_name(m))
            .collect();
        let mut text = names.join(" -> ");
        for (i, from) in cycle.iter().enumerate() {
            let to = &cycle[(i + 1) % cycle.len()];
            if let Some(e) = self.edges.get(&(from.clone(), to.clone())) {
                text.push_str(&format!(
                    "\n    {}:{} uses {}",
                    e.file.display(),
                    e.line,
                    e.text
                ));
            }
        }
        text
    }
}

fn module_name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

/// The directory a module's file children live in: beside a mod.rs/lib.rs/main.rs, in a
/// folder named after any other file.
fn module_dir(file: &Path, owns_dir: bool) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new("."));
    if owns_dir {
        parent.to_path_buf()
    } else {
        parent.join(file.file_stem().unwrap_or_default())
    }
}

/// The module a path names an item of (or is), relative to the module it is written in;
/// None for paths into other crates.
fn resolve(module: &[String], segments: &[String]) -> Option<ModPath> {
    let mut target: ModPath = match segments.first()?.as_str() {
        "crate" => Vec::new(),
        "self" | "super" => module.to_vec(),
        _ => return None,
    };
    let mut rest = segments.iter().skip(1).peekable();
    if segments[0] == "super" {
        target.pop()?;
        while rest.peek().is_some_and(|s| *s == "super") {
            rest.next();
            target.pop()?;
        }
    }
    target.extend(rest.filter(|s| *s != "self" && *s != "*").cloned());
    Some(target)
}

/// The dependency between siblings that a use of `target` from `module` makes, if any.
fn sibling_edge(
    module: &[String],
    target: &[String],
    modules: &BTreeSet<ModPath>,
) -> Option<(ModPath, ModPath)> {
    let common = module
        .iter()
        .zip(target)
        .take_while(|(a, b)| a == b)
        .count();
    if common == module.len() || common == target.len() {
        return None; // an ancestor or descendant
    }
    let to = target[..=common].to_vec();
    // An item of the common ancestor itself (a type defined in the parent's file).
    if !modules.contains(&to) {
        return None;
    }
    Some((module[..=common].to_vec(), to))
}

/// The shortest cycle through `start` (breadth-first), if any.
fn shortest_cycle_through(
    start: &ModPath,
    next: &BTreeMap<&ModPath, Vec<&ModPath>>,
) -> Option<Vec<ModPath>> {
    let mut came_from: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &to in next.get(node).into_iter().flatten() {
            if to == start {
                let mut cycle = vec![node.clone()];
                let mut at = node;
                while at != start {
                    at = came_from[at];
                    cycle.push(at.clone());
                }
                cycle.reverse();
                return Some(cycle);
            }
            if !came_from.contains_key(to) {
                came_from.insert(to, node);
                queue.push_back(to);
            }
        }
    }
    None
}

/// What one file declares and uses.
#[derive(Default)]
struct ModuleScan {
    /// `mod x;`: children in files of their own.
    file_children: Vec<ModPath>,
    /// `mod x { ... }`.
    inline_children: Vec<ModPath>,
    uses: Vec<PathUse>,
}

fn scan_module(text: &str, module: &[String]) -> ModuleScan {
    let tokens = lex(text);
    let mut scan = ModuleScan::default();
    // The modules open at this point, with the brace depth their body started at.
    let mut open: Vec<(ModPath, usize)> = vec![(module.to_vec(), 0)];
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        let current = open.last().expect("the file's module stays open").0.clone();
        match &tokens[i].kind {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if open.len() > 1 && open.last().is_some_and(|(_, d)| *d == depth) {
                    open.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(word) if word == "mod" => {
                if let (Some(Tok::Ident(name)), Some(after)) = (
                    tokens.get(i + 1).map(|t| &t.kind),
                    tokens.get(i + 2).map(|t| &t.kind),
                ) {
                    let mut child = current.clone();
                    child.push(name.clone());
                    match after {
                        Tok::Punct(';') => scan.file_children.push(child),
                        Tok::Punct('{') => {
                            depth += 1;
                            scan.inline_children.push(child.clone());
                            open.push((child, depth));
                            i += 3;
                            continue;
                        }
                        _ => {}
                    }
                }
            }
            Tok::Ident(word) if word == "use" => {
                let line = tokens[i].line;
                let mut trees = Vec::new();
                i = use_tree(&tokens, i + 1, Vec::new(), &mut trees);
                scan.uses.extend(trees.into_iter().map(|segments| PathUse {
                    module: current.clone(),
                    segments,
                    line,
                }));
                continue;
            }
            Tok::Ident(word)
                if matches!(word.as_str(), "crate" | "super" | "self")
                    && matches!(tokens.get(i + 1).map(|t| &t.kind), Some(Tok::PathSep)) =>
            {
                let line = tokens[i].line;
                let mut segments = vec![word.clone()];
                let mut j = i + 1;
                while let (Some(Tok::PathSep), Some(Tok::Ident(next))) = (
                    tokens.get(j).map(|t| &t.kind),
                    tokens.get(j + 1).map(|t| &t.kind),
                ) {
                    segments.push(next.clone());
                    j += 2;
                }
                scan.uses.push(PathUse {
                    module: current,
                    segments,
                    line,
                });
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    scan
}

/// Reads a use tree from `tokens[i]` with `prefix` already read; pushes each full path and
/// returns the index after the tree (after the `;` for a whole `use` item).
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match tokens.get(i).map(|t| &t.kind) {
            Some(Tok::Ident(word)) if word == "as" => i += 2,
            Some(Tok::Ident(word)) => {
                prefix.push(word.clone());
                i += 1;
            }
            Some(Tok::Punct('*')) => i += 1,
            Some(Tok::PathSep) => i += 1,
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    i = use_tree(tokens, i, prefix.clone(), out);
                    match tokens.get(i).map(|t| &t.kind) {
                        Some(Tok::Punct(',')) => i += 1,
                        Some(Tok::Punct('}')) => {
                            i += 1;
                            break;
                        }
                        _ => return i,
                    }
                }
                // A group ends its path: what follows is `,` `}` or `;`.
                if let Some(Tok::Punct(';')) = tokens.get(i).map(|t| &t.kind) {
                    i += 1;
                }
                return i;
            }
            Some(Tok::Punct(';')) => {
                if !prefix.is_empty() {
                    out.push(prefix);
                }
                return i + 1;
            }
            // `,` or `}` ends one branch of a group; the group reads it.
            _ => {
                if !prefix.is_empty() {
                    out.push(prefix);
                }
                return i;
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

#[derive(Debug)]
struct Token {
    kind: Tok,
    line: usize,
}

/// Rust source to identifiers, `::` and single punctuation, without comments, strings and
/// character literals (whose contents could look like paths or braces).
fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    nesting += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    nesting -= 1;
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&chars, i + 1, 0, &mut line);
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // An escaped character literal: up to the closing quote.
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1; // a lifetime's quote; its name lexes as an identifier
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if matches!(word.as_str(), "r" | "br" | "b" | "c" | "cr") && matches!(at(i), '"' | '#')
            {
                let mut hashes = 0;
                while at(i + hashes) == '#' {
                    hashes += 1;
                }
                if at(i + hashes) == '"' {
                    i = skip_string(&chars, i + hashes + 1, hashes, &mut line);
                    continue;
                }
                if word == "r" && hashes == 1 {
                    i += 1; // a raw identifier: lex the name that follows
                    continue;
                }
            }
            if word == "b" && at(i) == '\'' {
                continue; // a byte literal: the quote branch skips it
            }
            tokens.push(Token {
                kind: Tok::Ident(word),
                line,
            });
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push(Token {
                kind: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            tokens.push(Token {
                kind: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    tokens
}

/// Skips a string body from `i` (after the opening quote) up to its closing quote followed
/// by `hashes` `#` (0 for ordinary strings, where a backslash escapes); returns the index
/// after it.
fn skip_string(chars: &[char], mut i: usize, hashes: usize, line: &mut usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' if hashes == 0 => i += 2,
            '"' if (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) => return i + 1 + hashes,
            c => {
                *line += usize::from(c == '\n');
                i += 1;
            }
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(path: &str) -> ModPath {
        path.split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    fn uses(text: &str, module: &str) -> Vec<String> {
        scan_module(text, &m(module))
            .uses
            .into_iter()
            .map(|u| format!("{} {}", module_name(&u.module), u.segments.join("::")))
            .collect()
    }

    #[test]
    fn use_trees_expand_to_full_paths() {
        let text = "use crate::{a::{b, c as d}, e::*};\nuse super::f;\nuse std::io;";
        assert_eq!(
            uses(text, "x"),
            [
                "x crate::a::b",
                "x crate::a::c",
                "x crate::e",
                "x super::f",
                "x std::io"
            ]
        );
    }

    #[test]
    fn paths_in_code_and_inline_modules() {
        let text = "fn f() { crate::tasks::root(); }\n#[cfg(test)]\nmod tests {\n    use super::*;\n    fn g() { super::super::y::z(); }\n}\nfn h() { self::k(); }";
        assert_eq!(
            uses(text, "bench::report"),
            [
                "bench::report crate::tasks::root",
                "bench::report::tests super",
                "bench::report::tests super::super::y::z",
                "bench::report self::k",
            ]
        );
    }

    #[test]
    fn comments_strings_and_chars_are_not_code() {
        let text = "// use crate::a;\n/* crate::b /* nested */ crate::c */\nconst S: &str = \"crate::d {\";\nconst R: &str = r#\"crate::e \"}\"#;\nfn f<'a>(x: &'a str) -> char { let _ = b'{'; '}' }\nuse crate::real;";
        assert_eq!(uses(text, ""), ["crate crate::real"]);
        let scan = scan_module(text, &[]);
        assert_eq!(scan.uses[0].line, 6);
    }

    #[test]
    fn paths_resolve_against_the_module() {
        assert_eq!(resolve(&m("a::b"), &m("super::c::D")), Some(m("a::c::D")));
        assert_eq!(
            resolve(&m("a::b::tests"), &m("super::super::x")),
            Some(m("a::x"))
        );
        assert_eq!(resolve(&m("a"), &m("crate::x::y")), Some(m("x::y")));
        assert_eq!(resolve(&m(""), &m("super::x")), None);
        assert_eq!(resolve(&m("a"), &m("std::io")), None);
    }

    #[test]
    fn edges_join_siblings_under_the_common_ancestor() {
        let modules: BTreeSet<ModPath> = ["", "a", "a::x", "a::y", "b", "b::z"]
            .into_iter()
            .map(m)
            .collect();
        let edge = |from: &str, to: &str| sibling_edge(&m(from), &m(to), &modules);
        assert_eq!(edge("a::x", "b::z::Item"), Some((m("a"), m("b"))));
        assert_eq!(edge("a::x", "a::y::Item"), Some((m("a::x"), m("a::y"))));
        // A parent's own item, a child, an ancestor: nesting, not a dependency.
        assert_eq!(edge("a::x", "a::Item"), None);
        assert_eq!(edge("a", "a::x::Item"), None);
        assert_eq!(edge("a::x", "a"), None);
    }

    fn graph(edges: &[(&str, &str)]) -> ModuleGraph {
        let mut graph = ModuleGraph::default();
        for (from, to) in edges {
            graph.modules.extend([m(from), m(to)]);
            graph.edges.insert(
                (m(from), m(to)),
                Evidence {
                    file: PathBuf::from(format!("{from}.rs")),
                    line: 1,
                    text: format!("crate::{to}"),
                },
            );
        }
        graph
    }

    #[test]
    fn cycles_are_found_and_named_with_their_evidence() {
        assert!(graph(&[("a", "b"), ("b", "c"), ("a", "c")])
            .cycles()
            .is_empty());
        let g = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]);
        let cycles = g.cycles();
        assert_eq!(cycles, [vec![m("a"), m("b"), m("c")]]);
        assert_eq!(
            g.describe(&cycles[0]),
            "a -> b -> c -> a\n    a.rs:1 uses crate::b\n    b.rs:1 uses crate::c\n    c.rs:1 uses crate::a"
        );
    }

    #[test]
    fn a_crate_on_disk_is_read_through_its_mod_declarations() {
        let dir = std::env::temp_dir().join(format!("xtask-layers-{}", std::process::id()));
        fs::create_dir_all(dir.join("b")).unwrap();
        fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").unwrap();
        fs::write(dir.join("a.rs"), "use crate::b::inner::X;\n").unwrap();
        fs::write(dir.join("b/mod.rs"), "pub mod inner;\n").unwrap();
        fs::write(
            dir.join("b/inner.rs"),
            "pub struct X;\nfn f() { crate::a::g(); }\n",
        )
        .unwrap();
        let graph = ModuleGraph::load(&dir.join("lib.rs")).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(graph.cycles(), [vec![m("a"), m("b")]]);
    }
}
