#!/bin/bash
# Captures every golden file of render/ss/tests.rs, and the inputs records.rs reads.
#
# TCP: sockfixture's TCP sockets in a private network namespace, dumped once with `ss -D`
# (captures/tcp.dump, which records::tcp decodes); each TCP golden is ss printing that dump
# (TCPDIAG_FILE) with the golden's options, so they all show the same kernel state.
# The other families: sockfixture's UDP, raw, packet and unix sockets and a few of the
# script's own (netlink, raw, packet, unix, one TCP listener) in a second namespace,
# listed live by ss (records.rs parses the most detailed capture of each family).
# captures/services is the capture machine's /etc/services, which ss named the ports from.
#
# usage (root, from the workspace root, after `cargo build --release -p sockwatch-tests`):
#   sockwatch/src/render/ss/tests/capture.sh
# then `AYA_BUILD_SKIP=1 cargo test -p sockwatch --lib render::ss` and review the diff.
# Needs ss from iproute2 6.1 (the version the goldens stand for), python3 and script(1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../../.." && pwd)
golden=$here/golden
dump=$here/captures/tcp.dump
fixture=${SOCKFIXTURE:-$root/target/release/sockfixture}

if [ $# = 0 ]; then
    case $(ss -V) in
    *iproute2-6.1.0*) ;;
    *) echo "capture.sh: the goldens are ss 6.1's, this is $(ss -V)" >&2; exit 1 ;;
    esac
    cp /etc/services "$here/captures/services"
    unshare -n "$0" tcp
    unshare -n "$0" others
    exit
fi
ip link set lo up
# A fixed directory: the unix socket paths are in the goldens, so a second run rewrites them alike.
dir=/tmp/ss-golden.$1
rm -rf "$dir"
mkdir "$dir"
trap 'rm -rf "$dir"' EXIT
groups=udp,raw,packet,unix
[ "$1" = tcp ] && groups=tcp
# The fixture holds its sockets until its stdin, this script's descriptor, closes.
exec {to_fixture}> >(exec "$fixture" --groups "$groups" --dir "$dir" >"$dir/fixture.out")
for _ in $(seq 600); do
    grep -qx ready "$dir/fixture.out" 2>/dev/null && break
    sleep 0.1
done
grep -qx ready "$dir/fixture.out" || { echo "capture.sh: sockfixture did not come up" >&2; exit 1; }

if [ "$1" = others ]; then
    # What sockfixture does not make: a TCP listener (so that the listings of every family
    # have a tcp line), a netlink socket of a process in a multicast group (ss names it after
    # the process, -e shows its groups), a raw socket of a protocol without a name, a packet
    # socket for every protocol on every interface and one for a protocol ss has no name for,
    # a unix listener with a connection it has not accepted (ss lists the waiting peer), under
    # an abstract name with a NUL inside, and a unix pair with one direction shut down.
    coproc EXTRA { exec python3 -c '
import socket, sys
held = [socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)]
held[0].bind((0, 1))  # port id: the pid of this process; groups: RTMGRP_LINK
held.append(socket.socket(socket.AF_INET, socket.SOCK_RAW, 253))
held.append(socket.create_server(("127.0.0.1", 22), backlog=4))
held.append(socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)))  # ETH_P_ALL
packet = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x88B5))
packet.bind(("lo", 0x88B5))
listener = socket.socket(socket.AF_UNIX)
listener.bind(b"\0pending\0listener")
listener.listen(1)
waiting = socket.socket(socket.AF_UNIX)
waiting.connect(b"\0pending\0listener")
reader, writer = socket.socketpair()
writer.shutdown(socket.SHUT_WR)
held += [packet, listener, waiting, reader, writer]
print("ready", flush=True)
sys.stdin.read()
'; }
    read -r ready <&"${EXTRA[0]}"
    [ "$ready" = ready ] || { echo "capture.sh: the extra sockets did not come up" >&2; exit 1; }
    # live NAME SS-OPTIONS [COLUMNS]: ss listing the namespace, on a terminal if COLUMNS.
    live() {
        local name=$1 options=$2 columns=${3:-}
        if [ -z "$columns" ]; then
            ss $options >"$golden/$name.txt"
        else
            script -qec "stty cols $columns; ss $options 2>/dev/null" /dev/null | tr -d '\r' >"$golden/$name.txt"
        fi
    }
    for options in uan ua uani uanoemi uanoemiO uanp xa xan xane xanemO xanoemip wa wan \
        0a 0an 0anemO 0anm 0anp; do
        live "$options" "-$options"
    done
    live nl_a "-f netlink -a"
    live nl_an "-f netlink -an"
    live nl_anem "-f netlink -anem"
    live nl_anp "-f netlink -anp"
    live all_a -a
    live all_an -an
    live all_an_tty90 -an 90
    exit
fi

# What sockfixture does not make: a listener shared with a forked child (two owners), one
# owned by uid 1000, one with a fwmark, one bound to lo over IPv4 and one over IPv6 (ss shows
# the scope, [::1]%lo), an IPv6-only wildcard one ([::]), connections left in SYN-SENT by
# a full accept queue (the kernel drops their SYNs), and a stalled transfer whose probes back off.
coproc EXTRA { exec python3 -c '
import os, socket, sys
S = socket.SOL_SOCKET
def listener(address, backlog=5, v6only=False, **options):
    sock = socket.socket(socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
    if v6only:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    for option, value in options.items():
        sock.setsockopt(S, getattr(socket, option), value)
    sock.bind(address)
    sock.listen(backlog)
    return sock
held = [listener(("127.0.0.1", 5432), SO_MARK=0x2a), listener(("127.0.0.1", 3306), SO_BINDTODEVICE=b"lo")]
held += [listener(("::1", 3306), SO_BINDTODEVICE=b"lo"), listener(("::", 443), v6only=True)]
full = listener(("127.0.0.2", 7000), backlog=0)
held += [full, socket.create_connection(("127.0.0.2", 7000))]
for _ in range(2):
    pending = socket.socket()
    pending.setblocking(False)
    pending.connect_ex(("127.0.0.2", 7000))
    held.append(pending)
# A stalled transfer of its own under the default minimum RTO (sockfixture raises it to 100 s,
# for sockets made after): its zero-window probes back off (backoff:) within the half second
# before the dump, and the receiver measures a receive RTT (rcv_rtt:).
open("/proc/sys/net/ipv4/tcp_rto_min_us", "w").write("200000")
stall = listener(("127.0.0.4", 9000), backlog=1, SO_RCVBUF=4096)
sender = socket.create_connection(("127.0.0.4", 9000))
sender.setsockopt(S, socket.SO_SNDBUF, 4096)
sender.setblocking(False)
held += [stall, sender, stall.accept()[0]]
try:
    while True:
        sender.send(bytes(1024))
except BlockingIOError:
    pass
if os.fork() == 0:  # holds the full listener too
    sys.stdin.read()
    os._exit(0)
if os.fork() == 0:
    os.setuid(1000)
    held.append(listener(("127.0.0.3", 8443)))
    sys.stdin.read()
    os._exit(0)
print("ready", flush=True)
sys.stdin.read()
'; }
read -r ready <&"${EXTRA[0]}"
[ "$ready" = ready ] || { echo "capture.sh: the extra sockets did not come up" >&2; exit 1; }
sleep 0.5  # the uid 1000 listener comes from the second child

# A listing of the listeners alone, before the dump.
ss -ltn >"$golden/ltn.txt"
ss -D "$dir/raw.dump" -tanieom >/dev/null
# as_asked ASKED IN OUT: the dump IN without the attributes a live `ss ASKED` would not have
# asked for (ss prints whatever a dump file holds). ASKED "all" keeps them all, and drops the
# NLMSG_DONE that `ss -D` writes after the IPv4 half (ss reads a dump up to its first
# NLMSG_DONE), so the IPv6 sockets show too.
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

# capture NAME SS-OPTIONS [COLUMNS]: ss reading the dump, on a terminal if COLUMNS.
capture() {
    local name=$1 options=$2 columns=${3:-}
    local asked=$dir/$name.dump
    as_asked "${options%% *}" "$dump" "$asked"
    if [ -z "$columns" ]; then
        TCPDIAG_FILE=$asked ss $options >"$golden/$name.txt"
    else
        TCPDIAG_FILE=$asked script -qec "stty cols $columns; ss $options 2>/dev/null" /dev/null |
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
