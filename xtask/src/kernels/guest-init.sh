#!/bin/busybox sh
# PID 1 of the `cargo xtask kernels` guests: runs sockwatch's checks against this kernel and
# prints one `sockwatch-check:` line each to the serial console, then powers off. The host
# reads those lines (see xtask/src/kernels.rs); nothing else is shared with it.

/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up
cd /tmp
# A heartbeat with the guest's uptime: a slow guest (TCG on a loaded machine) and a hung one
# read differently in the console log.
(while sleep 30; do echo "sockwatch-guest: alive at $(cut -d ' ' -f 1 /proc/uptime) s"; done) &

failed=0
pass() { echo "sockwatch-check: PASS $*"; }
fail() { echo "sockwatch-check: FAIL $*"; failed=$((failed + 1)); }
# A message is clear when it is one line (or none) and no panic.
clear_message() { [ "$(wc -l <"$1")" -le 1 ] && ! grep -q panicked "$1"; }
first_line() { head -n 1 "$1" | cut -c 1-300; }

# The first follow --json destroy line of a connection (not a listener: its peer port is not
# 0) matching $1, and a string field of a JSON line on stdin.
destroy_line() {
	grep '"type":"destroy"' reasons.json | grep -v '"peer":{"address":"[^"]*","port":0}' |
		grep -e "$1" | head -n 1
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

# A hook follow said it lacks: its line names the feature (sockwatch/src/ebpf/hooks.rs).
lacks() { grep -q "sockwatch follow: $1.*: unavailable on this kernel" reasons.err; }

# Checks one connection's end: $1 what it is, $2 the pattern of its destroy line, $3 the right
# reason, $4 whether follow may read `unknown` instead (it said so at start).
check_end() {
	line=$(destroy_line "$2")
	reason=$(echo "$line" | field reason)
	comm=$(echo "$line" | field comm)
	detail=$(echo "$line" | field detail)
	if [ "$reason" = "$3" ] && [ "$comm" = tcpend ]; then
		pass "reasons: $1: $3 (owner tcpend${detail:+, detail $detail})"
	elif [ "$reason" = unknown ] && [ "$comm" = tcpend ] && [ "$4" = yes ]; then
		pass "reasons: $1: unknown, the hook that tells $3 is missing (said at start)"
	else
		fail "reasons: $1: want $3 owned by tcpend, got ${line:-no destroy line}"
	fi
}

# Why connections end (issue #11): a FIN exchange, an abortive close (SO_LINGER 0) and a
# connect to a closed port, IPv4 and IPv6, made by tcpend (tests/src/bin/tcpend.rs). Each
# end must read its reason, or `unknown` where follow said at start that the kernel lacks the
# hook that tells; never a wrong one.
check_reasons() {
	if ! start_follow reasons.json --json --duration 60; then
		fail "follow --json did not attach: $(first_line reasons.json.err)"
		return
	fi
	for addr in 127.0.0.1 ::1; do
		tcpend normal "$addr" >"normal.$addr" 2>&1 || fail "tcpend normal $addr: $(first_line "normal.$addr")"
		tcpend abort "$addr" >"abort.$addr" 2>&1 || fail "tcpend abort $addr: $(first_line "abort.$addr")"
		tcpend refused "$addr" 9 >"refused.$addr" 2>&1 || fail "tcpend refused $addr: $(first_line "refused.$addr")"
	done
	sleep 1
	stop_follow
	grep "sockwatch follow: " reasons.json.err | grep -v attached >reasons.err
	sed 's/^/sockwatch-guest: /' reasons.err
	# A quiet end is `normal` only when every hook that would say otherwise is there.
	quiet_unknown=no
	for feature in "resets this host sent" "resets received" "errors reported to sockets" "connect() failing"; do
		lacks "$feature" && quiet_unknown=yes
	done
	sent_unknown=no
	lacks "resets this host sent" && sent_unknown=yes
	received_unknown=no
	lacks "resets received" && received_unknown=yes
	refused_unknown=no
	lacks "resets received" && lacks "errors reported to sockets" && refused_unknown=yes
	# tcpend says `client=ADDR:PORT server=ADDR:PORT`.
	port() { tr ' ' '\n' <"$2" | sed -n "s/^$1=.*:\([0-9]*\)$/\1/p"; }
	# By address and port: a port the IPv4 round used may come back in the IPv6 one.
	at() { echo "\"local\":{\"address\":\"$1\",\"port\":$2}"; }
	for addr in 127.0.0.1 ::1; do
		check_end "$addr normal close, client" "$(at "$addr" "$(port client "normal.$addr")")" normal $quiet_unknown
		check_end "$addr normal close, server" "$(at "$addr" "$(port server "normal.$addr")")" normal $quiet_unknown
		check_end "$addr SO_LINGER 0 close" "$(at "$addr" "$(port client "abort.$addr")")" reset-sent $sent_unknown
		check_end "$addr its peer" "$(at "$addr" "$(port server "abort.$addr")")" reset-received $received_unknown
		check_end "$addr connect to a closed port" "\"peer\":{\"address\":\"$addr\",\"port\":9}" refused $refused_unknown
	done
}

# sockwatch follow in the background, its output in $1, until it says it is attached.
start_follow() {
	out=$1
	shift
	sockwatch follow -n "$@" >"$out" 2>"$out.err" &
	follow_pid=$!
	# By the clock: under TCG on a loaded machine each round of this loop is slow.
	deadline=$(($(date +%s) + 120))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		grep -q attached "$out.err" && return 0
		kill -0 "$follow_pid" 2>/dev/null || return 1
		sleep 0.2
	done
	kill -INT "$follow_pid" 2>/dev/null
	return 1
}

stop_follow() {
	kill -INT "$follow_pid" 2>/dev/null
	wait "$follow_pid"
}

# vsock, TIPC and AF_XDP (issue #13): each family and diag module the kernel package has is
# loaded, familysocks (tests/src/bin/familysocks.rs) makes sockets of each, and snapshot must
# print what ss prints, byte for byte (standard output, standard error, exit status), for
# each command line below. Where a module is absent both list nothing; the log names the
# modules loaded and the sockets made, and the PASS lines count the rows compared. The
# replies the kernel sent go to the console as `sockwatch-capture:` lines (the decoders' test
# bytes, collected by sockwatch/src/source/testdata/capture.sh).
check_families() {
	loaded=
	absent=
	# TIPC's diag module was called `diag` before 6.x (Debian's 5.10 and 6.1).
	for modules in vsock_loopback vsock_diag tipc tipc_diag/diag xsk_diag; do
		module=
		for name in $(echo "$modules" | tr / ' '); do
			modprobe "$name" 2>/dev/null && module=$name && break
		done
		if [ -n "$module" ]; then loaded="$loaded $module"; else absent="$absent $modules"; fi
	done
	echo "sockwatch-guest: family modules loaded:${loaded:- none}; absent:${absent:- none}"
	familysocks hold >families.out 2>&1 &
	families_pid=$!
	deadline=$(($(date +%s) + 60))
	while ! grep -q '^ready' families.out && [ "$(date +%s)" -lt "$deadline" ]; do
		sleep 0.2
	done
	grep -v '^ready' families.out | sed 's/^/sockwatch-guest: familysocks: /'
	familysocks capture 2>&1 | sed 's/^/sockwatch-capture: /'
	while read -r args; do
		ss $args >ss.out 2>ss.err
		ss_rc=$?
		sockwatch snapshot $args >sw.out 2>sw.err
		sw_rc=$?
		# Rows: lines that are not the header nor a continuation (tab or blank first).
		rows=$(grep -c -v -e '^Netid' -e '^State' -e '^Recv-Q' -e '^[[:space:]]' ss.out)
		if [ $ss_rc -eq $sw_rc ] && cmp -s ss.out sw.out && cmp -s ss.err sw.err; then
			pass "snapshot $args is ss's output byte for byte ($rows socket row(s))"
		elif [ $ss_rc -ne $sw_rc ]; then
			fail "snapshot $args: exit $sw_rc, ss $ss_rc: $(first_line sw.err)"
		else
			fail "snapshot $args differs from ss: $({ diff ss.out sw.out; diff ss.err sw.err; } | grep '^[-+][^-+]' | head -n 4 | tr '\n' '|')"
			# Both outputs whole for a few lines, line ends marked: the diff hides blanks.
			case "$args" in
			"--vsock -ap" | "--tipc -aep" | "--tipc -a --tipcinfo" | "--xdp -ep" | "--xdp -eO" | "--xdp -m")
				sed 's/^/sockwatch-guest: ss| /; s/$/|/' ss.out ss.err | head -n 30
				sed 's/^/sockwatch-guest: sw| /; s/$/|/' sw.out sw.err | head -n 30
				;;
			esac
		fi
	done <<'ARGS'
--vsock
-f vsock
-A vsock_stream
-A vsock_dgram
--vsock -a
--vsock -l
--vsock -ae
--vsock -ap
-A vsock_stream -lp
--tipc
-f tipc
-A tipc
--tipc -a
--tipc -l
--tipc -ae
--tipc -ap
--tipc -aep
--tipc --tipcinfo
--tipc -a --tipcinfo
--tipc -a --tipcinfo -O
-A tipc -ae --tipcinfo
--xdp
-f xdp
-A xdp
--xdp -a
--xdp -l
--xdp -e
--xdp -p
--xdp -ep
--xdp -eO
--xdp -m
-a -A vsock,tipc,xdp
-a --vsock --tipc --xdp -ep
ARGS
	# --json carries what ss's text shows of TIPC (--tipcinfo) and AF_XDP (-e) sockets
	# (docs/json-schema.md), checked where ss shows it.
	while IFS='|' read -r args text json; do
		ss $args >ss.out 2>&1
		if ! grep -qF "$text" ss.out; then
			echo "sockwatch-guest: ss $args shows no '$text': its --json is not checked"
		elif sockwatch snapshot $args --json >sw.out 2>sw.err && grep -qF "$json" sw.out; then
			pass "snapshot $args --json has $json, as ss shows $text"
		else
			fail "snapshot $args --json lacks $json ($(first_line sw.err))"
		fi
	done <<'JSON'
--tipc -a --tipcinfo|via {18889,1}|"via":{"type":18889,"instance":1}
--tipc -a --tipcinfo|type:RDM|"type":"rdm"
--xdp -e|umem(|"umem":{"id":
--xdp -e|rx(entries:|"rx_ring":
JSON
	kill "$families_pid" 2>/dev/null
}

echo "sockwatch-guest: kernel $(uname -r)"

# --- Without the sock_diag modules (none loaded yet; moved aside so none autoloads).
mv /lib/modules /lib/modules.off
sockwatch snapshot -tan >nodiag.out 2>nodiag.err
rc=$?
if [ $rc -ne 0 ] && clear_message nodiag.err; then
	pass "no diag modules: snapshot -tan says: $(first_line nodiag.err)"
elif [ $rc -eq 0 ]; then
	pass "no diag modules: snapshot -tan works"
else
	fail "no diag modules: snapshot -tan exit $rc, unclear message: $(first_line nodiag.err)"
fi
if sockwatch snapshot -wan >nodiag.out 2>nodiag.err; then
	pass "no diag modules: snapshot -wan still works (/proc/net/raw)"
else
	fail "no diag modules: snapshot -wan exit $?: $(first_line nodiag.err)"
fi
mv /lib/modules.off /lib/modules
for module in inet_diag tcp_diag udp_diag raw_diag; do
	modprobe "$module" || fail "modprobe $module"
done

# --- Without BTF: follow says why in one line; snapshot does not need it.
if [ -d /sys/kernel/btf ]; then
	mount -t tmpfs none /sys/kernel/btf
	sockwatch follow --duration 1 >nobtf.out 2>nobtf.err
	rc=$?
	if [ $rc -eq 1 ] && clear_message nobtf.err && grep -q BTF nobtf.err; then
		pass "no BTF: follow says: $(first_line nobtf.err)"
	else
		fail "no BTF: follow exit $rc: $(first_line nobtf.err)"
	fi
	if sockwatch snapshot -tan >/dev/null 2>nobtf.err; then
		pass "no BTF: snapshot works"
	else
		fail "no BTF: snapshot: $(first_line nobtf.err)"
	fi
	umount /sys/kernel/btf
else
	fail "this kernel has no /sys/kernel/btf"
fi

# --- Sockets made before follow starts: a listener and one connection, held open (nc ends
# at the end of its input: give it one that lasts).
sleep 600 | nc -l -p 7100 >/dev/null &
early_server=$!
sleep 0.3
sleep 600 | nc 127.0.0.1 7100 >/dev/null &
early_client=$!
sleep 0.5

# --- snapshot against this kernel's own ss, per protocol (state, local, peer).
# A UDP socket (busybox's nc has no -u: syslogd forwarding to a remote keeps one) and a raw one.
syslogd -n -R 127.0.0.1:7200 &
udp_server=$!
ping -q 127.0.0.1 >/dev/null &
raw_pinger=$!
sleep 0.5
logger "sockwatch checks"
sleep 0.5
for option in -tan -uan -wan; do
	sockwatch snapshot $option >sw.out 2>sw.err || fail "snapshot $option: $(first_line sw.err)"
	ss $option >ss.out 2>ss.err || fail "ss $option: $(first_line ss.err)"
	awk 'NR > 1 { print $1, $4, $5 }' sw.out | sort >sw.rows
	awk 'NR > 1 { print $1, $4, $5 }' ss.out | sort >ss.rows
	if cmp -s sw.rows ss.rows; then
		pass "snapshot $option matches ss ($(wc -l <ss.rows) socket(s))"
	else
		fail "snapshot $option differs from ss: $(diff sw.rows ss.rows | grep '^[-+][^-+]' | head -n 3 | tr '\n' ' ')"
	fi
done
kill "$udp_server" "$raw_pinger" 2>/dev/null

check_families

# --- follow: short connections from a named process (nc), owners on both sides; the
# start-up join (the early connection, opened before follow, closes while it runs).
if start_follow follow.out --duration 60; then
	grep "sockwatch follow: " follow.out.err | grep -v attached | sed 's/^/sockwatch-guest: /'
	for round in 1 2 3; do
		nc -l -p 7300 >/dev/null </dev/null &
		sleep 0.3
		echo "round $round" | nc -w 1 127.0.0.1 7300 >/dev/null
		sleep 0.3
	done
	# The early client goes: its peer, the early server's accepted socket, changes state in
	# softirq, where only the table (joined with the start-up listing) knows its owner.
	kill "$early_client" 2>/dev/null
	sleep 1
	stop_follow
	client_side=$(awk '$3 == "nc" && $5 ~ /:7300$/' follow.out | wc -l)
	server_side=$(awk '$3 == "nc" && $4 ~ /:7300$/ && $5 !~ /:0$/' follow.out | wc -l)
	if [ "$client_side" -ge 9 ] && [ "$server_side" -ge 3 ]; then
		pass "follow: 3 connections by nc, owner on $client_side client-side and $server_side server-side lines"
	else
		fail "follow: owners on $client_side client-side (want 9+) and $server_side server-side (want 3+) lines: $(first_line follow.out.err)"
	fi
	if awk -v pid="$early_server" '$2 == pid && $3 == "nc" && $4 ~ /:7100$/ && /CLOSE_WAIT/' follow.out | grep -q .; then
		pass "follow: the connection opened before start joined its start-up row (owner nc, pid $early_server)"
	else
		fail "follow: no owned CLOSE_WAIT line for the connection opened before start: $(grep ':7100' follow.out | head -n 2 | tr '\n' ' ')"
	fi
	# Nothing on the terminal shows a kernel address; where the loader fell back, --verbose
	# shows why the kernel refused the first choice.
	if grep -Eq 'ffff[0-9a-f]{12}' follow.out.err; then
		fail "follow's messages show a kernel address: $(first_line follow.out.err)"
	else
		pass "follow's messages show no kernel address"
	fi
	# What the verifier spent on each program it took (kernels from 5.16 report it).
	sockwatch follow --verbose --duration 0.5 >/dev/null 2>verbose.err
	grep ': loaded; ' verbose.err | sed 's/^sockwatch: /sockwatch-guest: /'
	if grep -q "cookies are read from the socket" follow.out.err; then
		if grep -q "the verifier refused it: unknown func bpf_get_socket_cookie" verbose.err; then
			pass "follow --verbose: $(grep -m 1 'the verifier refused it' verbose.err | cut -c 1-200)"
		else
			fail "follow --verbose does not say why the cookie helper was refused: $(first_line verbose.err)"
		fi
	fi
else
	fail "follow did not attach: $(first_line follow.out.err)"
fi
kill "$early_server" 2>/dev/null

# --- Why connections end.
check_reasons

# --- Loss and resync: a tiny ring, a reader stopped while connections come and go.
if start_follow loss.out --ring-kib 4 --duration 60; then
	kill -STOP "$follow_pid"
	for port in $(seq 7400 7419); do
		nc -l -p "$port" >/dev/null </dev/null &
	done
	sleep 0.5
	for port in $(seq 7400 7419); do
		echo x | nc -w 1 127.0.0.1 "$port" >/dev/null &
	done
	sleep 2
	kill -CONT "$follow_pid"
	sleep 1
	stop_follow
	lost=$(sed -n 's/.*events, \([0-9]*\) lost.*/\1/p' loss.out.err)
	if grep -q LOST loss.out && [ "${lost:-0}" -gt 0 ]; then
		pass "loss: $lost events lost, reported and resynced"
	else
		fail "loss: no LOST line or count: $(tail -n 1 loss.out.err)"
	fi
else
	fail "follow --ring-kib 4 did not attach: $(first_line loss.out.err)"
fi

echo "sockwatch-checks: done, $failed failed"
poweroff -f
