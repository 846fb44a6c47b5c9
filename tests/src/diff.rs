//! A unified-style line diff, for showing how two listings differ.

/// Lines of context around each change.
const CONTEXT: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Edit {
    Same,
    Removed,
    Added,
}

/// A unified-style diff from `old` to `new` (`-` lines only in old, `+` lines only in new,
/// hunks headed `@@ -start,len +start,len @@`), or an empty string when they are equal.
/// Invisible differences show: tabs as `→`, trailing blanks as `·`.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let script = edit_script(&old, &new);
    if script.iter().all(|&(edit, _, _)| edit == Edit::Same) {
        return String::new();
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    for hunk in hunks(&script) {
        let (edits, old_start, new_start) = (
            &script[hunk.clone()],
            script[hunk.start].1,
            script[hunk.start].2,
        );
        let old_len = edits.iter().filter(|e| e.0 != Edit::Added).count();
        let new_len = edits.iter().filter(|e| e.0 != Edit::Removed).count();
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            hunk_range(old_start, old_len),
            hunk_range(new_start, new_len)
        ));
        for &(edit, o, n) in edits {
            let (sign, line) = match edit {
                Edit::Same => (' ', old[o]),
                Edit::Removed => ('-', old[o]),
                Edit::Added => ('+', new[n]),
            };
            out.push(sign);
            out.push_str(&visible(line));
            out.push('\n');
        }
    }
    out
}

/// `start,len` as unified diffs print it: 1-based, or the line before for an empty range.
fn hunk_range(start: usize, len: usize) -> String {
    let first = if len == 0 { start } else { start + 1 };
    format!("{first},{len}")
}

/// The shortest edit script (longest common subsequence), as (edit, old index, new index):
/// for Removed the new index is where the old line would have been, and vice versa.
fn edit_script(old: &[&str], new: &[&str]) -> Vec<(Edit, usize, usize)> {
    // lcs[i][j]: length of the longest common subsequence of old[i..] and new[j..]. Listings
    // are at most a few hundred lines, so the quadratic table is fine.
    let mut lcs = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut script = Vec::with_capacity(old.len().max(new.len()));
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            script.push((Edit::Same, i, j));
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            script.push((Edit::Removed, i, j));
            i += 1;
        } else {
            script.push((Edit::Added, i, j));
            j += 1;
        }
    }
    script
}

/// Ranges of the script to print: each change with CONTEXT unchanged lines either side,
/// overlapping ranges merged.
fn hunks(script: &[(Edit, usize, usize)]) -> Vec<std::ops::Range<usize>> {
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    for (at, &(edit, _, _)) in script.iter().enumerate() {
        if edit == Edit::Same {
            continue;
        }
        let start = at.saturating_sub(CONTEXT);
        let end = (at + 1 + CONTEXT).min(script.len());
        match ranges.last_mut() {
            Some(last) if start <= last.end => last.end = end,
            _ => ranges.push(start..end),
        }
    }
    ranges
}

/// The line with tabs and trailing blanks made visible.
fn visible(line: &str) -> String {
    let body = line.trim_end_matches(' ');
    let trailing = line.len() - body.len();
    format!("{}{}", body.replace('\t', "→"), "·".repeat(trailing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\nb\n", "a\nb\n", "x", "y"), "");
    }

    #[test]
    fn shows_changes_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        assert_eq!(
            unified(old, new, "ss", "sockwatch"),
            "--- ss\n+++ sockwatch\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn separate_changes_make_separate_hunks() {
        let old: String = (1..=20).map(|n| format!("{n}\n")).collect();
        let new = old.replace("2\n", "two\n").replace("19\n", "");
        let diff = unified(&old, &new, "a", "b");
        assert_eq!(diff.matches("@@ -").count(), 2, "{diff}");
        assert!(diff.contains("-2\n+two\n"), "{diff}");
        assert!(diff.contains("-19\n"), "{diff}");
    }

    #[test]
    fn added_and_removed_lines_at_the_ends() {
        assert_eq!(
            unified("", "x\n", "a", "b"),
            "--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n"
        );
        assert_eq!(
            unified("x\n", "", "a", "b"),
            "--- a\n+++ b\n@@ -1,1 +0,0 @@\n-x\n"
        );
    }

    #[test]
    fn invisible_differences_show() {
        let diff = unified("a\tb  \n", "a b\n", "a", "b");
        assert!(diff.contains("-a→b··\n+a b\n"), "{diff}");
    }
}
