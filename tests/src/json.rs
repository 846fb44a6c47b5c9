//! Reading sockwatch's JSON (docs/json-schema.md) in tests.

use serde_json::Value;

/// Every line of a JSON-lines stream, parsed; a line that is not JSON fails the test.
pub fn parse_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

/// `STATE local-address:port peer-address:port` of a socket object of snapshot's document or
/// of follow's table line: the two share state names and endpoint keys.
pub fn inet_socket_key(socket: &Value) -> String {
    let end = |e: &Value| format!("{}:{}", e["address"].as_str().unwrap_or("?"), e["port"]);
    format!(
        "{} {} {}",
        socket["state"].as_str().unwrap_or("?"),
        end(&socket["local"]),
        end(&socket["peer"])
    )
}

/// The sorted keys of the sockets in the last table of `follow --table --json` output.
pub fn table_socket_keys(stdout: &str) -> Vec<String> {
    let last: Value = stdout
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad table line {l}: {e}")))
        .expect("a table line");
    sorted_socket_keys(&last)
}

/// The sorted keys of every TCP socket in a `snapshot --json` document.
pub fn snapshot_socket_keys(stdout: &[u8]) -> Vec<String> {
    let doc: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("snapshot --json: {e}: {}", String::from_utf8_lossy(stdout)));
    sorted_socket_keys(&doc)
}

/// The sorted keys of the `sockets` array of a snapshot document or a follow table line.
fn sorted_socket_keys(doc: &Value) -> Vec<String> {
    let mut keys: Vec<String> = doc["sockets"]
        .as_array()
        .expect("a sockets array")
        .iter()
        .map(inet_socket_key)
        .collect();
    keys.sort();
    keys
}

/// The JSON types a key may hold, by [`kind_of`]'s names.
pub type Kinds = &'static [&'static str];
/// Keys of an object, each with the JSON types it may hold.
pub type Keys<'a> = &'a [(&'a str, Kinds)];

pub const STRING: Kinds = &["string"];
pub const NUMBER: Kinds = &["number"];
pub const BOOLEAN: Kinds = &["boolean"];
pub const OBJECT: Kinds = &["object"];
pub const ARRAY: Kinds = &["array"];
pub const STRING_OR_NULL: Kinds = &["string", "null"];
pub const NUMBER_OR_NULL: Kinds = &["number", "null"];
pub const BOOLEAN_OR_NULL: Kinds = &["boolean", "null"];
pub const OBJECT_OR_NULL: Kinds = &["object", "null"];

/// The kernel's TCP state names (include/net/tcp_states.h), as every `state` key holds them.
pub const KERNEL_STATES: &[&str] = &[
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
    "BOUND_INACTIVE",
];

pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What is wrong with `value` as an object with exactly the `required` keys (each of one of
/// its kinds) and perhaps some `optional` ones: missing keys, extra keys, wrong types.
pub fn object_problems(
    what: &str,
    value: &Value,
    required: &[(&str, Kinds)],
    optional: &[(&str, Kinds)],
) -> Vec<String> {
    let Some(object) = value.as_object() else {
        return vec![format!("{what}: not an object: {value}")];
    };
    let mut problems = Vec::new();
    for (key, kinds) in required {
        match object.get(*key) {
            None => problems.push(format!("{what}: no `{key}` in {value}")),
            Some(v) if !kinds.contains(&kind_of(v)) => problems.push(format!(
                "{what}: `{key}` is {} ({v}), not {kinds:?}",
                kind_of(v)
            )),
            Some(_) => {}
        }
    }
    for (key, v) in object {
        if required.iter().any(|(k, _)| k == key) {
            continue;
        }
        match optional.iter().find(|(k, _)| k == key) {
            None => problems.push(format!("{what}: unexpected key `{key}` in {value}")),
            Some((_, kinds)) if !kinds.contains(&kind_of(v)) => problems.push(format!(
                "{what}: `{key}` is {} ({v}), not {kinds:?}",
                kind_of(v)
            )),
            Some(_) => {}
        }
    }
    problems
}

/// `time`: RFC 3339 UTC with microseconds, `2026-12-06T14:20:45.123456Z`.
pub fn time_problems(what: &str, time: &Value) -> Vec<String> {
    let Some(text) = time.as_str() else {
        return Vec::new();
    };
    let shape_ok = text.len() == 27
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'.',
            26 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    if shape_ok {
        Vec::new()
    } else {
        vec![format!(
            "{what}: time {text:?} is not RFC 3339 UTC with microseconds"
        )]
    }
}

fn state_problems(what: &str, line: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .filter_map(|key| {
            let state = line[*key].as_str()?;
            (!KERNEL_STATES.contains(&state)).then(|| format!("{what}: {key} {state:?}"))
        })
        .collect()
}

const FOLLOW_INET: &[(&str, Kinds)] = &[("address", STRING), ("port", NUMBER)];
/// The keys every socket event (transition, destroy, drop, ...) starts with.
const EVENT_HEAD: &[(&str, Kinds)] = &[
    ("type", STRING),
    ("time", STRING),
    ("ts_ns", NUMBER),
    ("cookie", NUMBER),
    ("netns", NUMBER),
    ("local", OBJECT),
];

const OWNER: &[(&str, Kinds)] = &[
    ("pid", NUMBER_OR_NULL),
    ("tid", NUMBER_OR_NULL),
    ("uid", NUMBER_OR_NULL),
    ("cgroup_id", NUMBER_OR_NULL),
    ("comm", STRING_OR_NULL),
];
const COMM_HEX: &[(&str, Kinds)] = &[("comm_hex", STRING)];

/// What is wrong with one line of `follow --json` against docs/json-schema.md.
pub fn follow_line_problems(line: &Value) -> Vec<String> {
    let what = line["type"]
        .as_str()
        .unwrap_or("a line without a string `type`");
    let mut problems = match what {
        "start" => object_problems(
            what,
            line,
            &[
                ("type", STRING),
                ("schema_version", NUMBER),
                ("view", STRING),
                ("source", STRING),
                ("time", STRING_OR_NULL),
                ("ts_ns", NUMBER_OR_NULL),
            ],
            &[],
        ),
        "transition" | "destroy" | "retransmit" | "connect-failed" => {
            let mut keys = EVENT_HEAD.to_vec();
            keys.extend_from_slice(&[
                ("peer", OBJECT),
                ("old_state", STRING),
                ("new_state", STRING),
                ("in_old_state_ms", NUMBER_OR_NULL),
                ("lifetime_ms", NUMBER_OR_NULL),
                ("bytes_acked", NUMBER_OR_NULL),
                ("bytes_received", NUMBER_OR_NULL),
                ("total_retrans", NUMBER_OR_NULL),
                ("srtt_us", NUMBER_OR_NULL),
                ("min_rtt_us", NUMBER_OR_NULL),
                ("connect_us", NUMBER_OR_NULL),
                ("reason", STRING_OR_NULL),
                ("errno", STRING_OR_NULL),
                ("detail", STRING_OR_NULL),
                ("owner_from", STRING_OR_NULL),
            ]);
            keys.extend_from_slice(OWNER);
            let mut problems = object_problems(what, line, &keys, COMM_HEX);
            for end in ["local", "peer"] {
                problems.extend(object_problems(end, &line[end], FOLLOW_INET, &[]));
            }
            problems.extend(state_problems(what, line, &["old_state", "new_state"]));
            problems
        }
        "drop" => {
            let mut keys = EVENT_HEAD.to_vec();
            keys.extend_from_slice(&[("drop_reason", STRING), ("count", NUMBER)]);
            keys.extend_from_slice(OWNER);
            let mut problems = object_problems(what, line, &keys, COMM_HEX);
            problems.extend(object_problems("local", &line["local"], FOLLOW_INET, &[]));
            problems
        }
        "lost" => object_problems(
            what,
            line,
            &[
                ("type", STRING),
                ("time", STRING),
                ("ts_ns", NUMBER),
                ("lost", NUMBER),
            ],
            &[],
        ),
        "table" => {
            let mut problems = object_problems(
                what,
                line,
                &[
                    ("type", STRING),
                    ("time", STRING),
                    ("ts_ns", NUMBER),
                    ("events", NUMBER),
                    ("lost", NUMBER),
                    ("sockets", ARRAY),
                ],
                &[],
            );
            let mut keys = vec![
                ("cookie", NUMBER),
                ("state", STRING),
                ("local", OBJECT),
                ("peer", OBJECT),
                ("in_state_ms", NUMBER_OR_NULL),
            ];
            keys.extend_from_slice(OWNER);
            for socket in line["sockets"].as_array().into_iter().flatten() {
                problems.extend(object_problems("table socket", socket, &keys, COMM_HEX));
                for end in ["local", "peer"] {
                    problems.extend(object_problems(end, &socket[end], FOLLOW_INET, &[]));
                }
                problems.extend(state_problems("table socket", socket, &["state"]));
            }
            problems
        }
        _ => vec![format!("unknown line type: {line}")],
    };
    problems.extend(time_problems(what, &line["time"]));
    problems
}
