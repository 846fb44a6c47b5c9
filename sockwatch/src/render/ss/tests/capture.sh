#!/bin/bash
# Captures the TCP golden files of render/ss/tests.rs: makes the sockets of
# `sockfixture --groups tcp` in a private network namespace, dumps them once with `ss -D`
# (captures/tcp.dump, which records::tcp decodes), then has ss print that dump with each
# golden's options (TCPDIAG_FILE), so every TCP golden shows the same kernel state.
#
# usage (root; from the workspace root, after `cargo build --release -p sockwatch-tests`):
#   unshare -n sockwatch/src/render/ss/tests/capture.sh
#
# ss reads a dump only up to its first NLMSG_DONE, and `ss -D` writes one after the IPv4
# half: that one is dropped, so ss (and sockwatch) show the IPv6 sockets too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../../.." && pwd)
golden=$here/golden
dump=$here/captures/tcp.dump
fixture=${SOCKFIXTURE:-$root/target/release/sockfixture}

[ "$(readlink /proc/self/ns/net)" != "$(readlink /proc/1/ns/net)" ] ||
    { echo "capture.sh: run me in a private network namespace (unshare -n)" >&2; exit 1; }
ip link set lo up

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
coproc FIXTURE { exec "$fixture" --groups tcp --dir "$dir"; }
read -r ready <&"${FIXTURE[0]}"
[ "$ready" = ready ] || { echo "capture.sh: sockfixture did not come up" >&2; exit 1; }

ss -D "$dir/raw.dump" -tanieom >/dev/null
# as_asked ASKED IN OUT: the dump IN without the attributes a live `ss ASKED` would not have
# asked for (ss prints whatever a dump file holds). ASKED "all" keeps them all, and drops the
# NLMSG_DONE after the IPv4 half instead.
as_asked() {
    python3 - "$@" <<'PY'
import struct, sys
asked, data = sys.argv[1], open(sys.argv[2], "rb").read()
MEMORY = {1, 7}  # INET_DIAG_MEMINFO, SKMEMINFO: -m
INFO = {2, 3, 4, 9, 16}  # INET_DIAG_INFO, VEGASINFO, CONG, DCTCPINFO, BBRINFO: -i
dropped = set()
if asked != "all":
    dropped = (set() if "m" in asked else MEMORY) | (set() if "i" in asked else INFO)
HEAD = 16 + 72  # nlmsghdr, inet_diag_msg
out, at, done_dropped = bytearray(), 0, False
while at < len(data):
    length, kind = struct.unpack_from("=IH", data, at)
    message = data[at:at + length]
    at += (length + 3) & ~3
    if kind == 3 and asked == "all" and not done_dropped and at < len(data):
        done_dropped = True  # the NLMSG_DONE after the IPv4 half
        continue
    if kind == 20:  # SOCK_DIAG_BY_FAMILY
        kept, a = bytearray(message[:HEAD]), HEAD
        while a + 4 <= len(message):
            alen, atype = struct.unpack_from("=HH", message, a)
            if atype & 0x3FFF not in dropped:
                kept += message[a:a + alen] + bytes(-alen % 4)
            a += (alen + 3) & ~3
        message = struct.pack("=I", len(kept)) + bytes(kept[4:])
    out += message + bytes(-len(message) % 4)
open(sys.argv[3], "wb").write(out)
PY
}
as_asked all "$dir/raw.dump" "$dump"

# capture NAME SS-OPTIONS [COLUMNS]: ss reading the dump, on a terminal COLUMNS wide if given.
capture() {
    local name=$1 options=$2 columns=${3:-}
    local asked=$dir/$name.dump
    as_asked "${options%% *}" "$dump" "$asked"
    if [ -z "$columns" ]; then
        TCPDIAG_FILE=$asked ss $options >"$golden/$name.txt"
    else
        TCPDIAG_FILE=$asked script -qec "stty cols $columns; ss $options" /dev/null |
            tr -d '\r' >"$golden/$name.txt"
    fi
}
capture tcp_tan -tan
capture tcp_ta -ta
capture tcp_tar -tar
capture tcp_tanH -tanH
capture tcp_tane -tane
capture tcp_tano -tano
capture tcp_tanp -tanp
capture tcp_tanm -tanm
capture tcp_tanmO -tanmO
capture tcp_tai -tai
capture tcp_taniO -taniO
capture tcp_tanoemip -tanoemip
# One state asked for: ss hides the State column (and, reading a file, lists every socket).
capture tcp_tn_one_state '-tn state established'
capture tcp_tan_tty40 -tan 40
capture tcp_tan_tty80 -tan 80
capture tcp_tan_tty200 -tan 200
capture tcp_tanoemi_tty120 -tanoemi 120
capture tcp_tanep_tty100 -tanep 100
# Ports in the ephemeral range print as numbers without -n (8080 and 9000 here).
echo "8000 9999" >/proc/sys/net/ipv4/ip_local_port_range
capture tcp_ta_eph -ta
