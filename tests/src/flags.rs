//! The `--flag value` command lines of the load generators (tcpchurn, tcphold).

use std::str::FromStr;

/// One flag's value as typed, with the flag it came with (for the error message).
pub struct Value<'a> {
    flag: &'a str,
    text: &'a str,
}

impl Value<'_> {
    /// The value as a `T`, or one line naming the flag and the bad value.
    pub fn parse<T: FromStr>(&self) -> Result<T, String> {
        self.text.parse().map_err(|_| self.bad())
    }

    /// The value as bytes written in hex (`--comm-hex 6869` is "hi").
    pub fn hex(&self) -> Result<Vec<u8>, String> {
        let text = self.text;
        if !text.len().is_multiple_of(2) {
            return Err(self.bad());
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| self.bad())
            })
            .collect()
    }

    fn bad(&self) -> String {
        format!("bad value for {}: {}", self.flag, self.text)
    }
}

/// Walks `args` (the command line after the program's name) as `--flag value` pairs, handing
/// each to `set`, which returns Ok(false) for a flag it does not know.
pub fn parse(
    args: impl IntoIterator<Item = String>,
    mut set: impl FnMut(&str, Value) -> Result<bool, String>,
) -> Result<(), String> {
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let text = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let value = Value {
            flag: &flag,
            text: &text,
        };
        if !set(&flag, value)? {
            return Err(format!("unknown option {flag}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn pairs_are_handed_over_in_order_and_errors_name_the_flag() {
        let mut seen = Vec::new();
        parse(words("--a 1 --b 6869"), |flag, value| {
            seen.push(match flag {
                "--a" => value.parse::<u8>()?.to_string(),
                "--b" => String::from_utf8(value.hex()?).unwrap(),
                _ => return Ok(false),
            });
            Ok(true)
        })
        .unwrap();
        assert_eq!(seen, ["1", "hi"]);
        let number = |flag: &str, value: Value| value.parse::<u8>().map(|_| flag == "--a");
        let hex = |_: &str, value: Value| value.hex().map(|_| true);
        type Set<'a> = &'a dyn Fn(&str, Value) -> Result<bool, String>;
        let cases: [(&str, Set, &str); 5] = [
            ("--a", &number, "--a needs a value"),
            ("--a x", &number, "bad value for --a: x"),
            ("--c 1", &number, "unknown option --c"),
            ("--h 686", &hex, "bad value for --h: 686"),
            ("--h zz", &hex, "bad value for --h: zz"),
        ];
        for (line, set, error) in cases {
            assert_eq!(parse(words(line), set).unwrap_err(), error, "{line}");
        }
    }
}
