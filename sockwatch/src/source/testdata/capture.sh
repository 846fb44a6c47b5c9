#!/bin/sh
# Regenerates the bytes the vsock, tipc and xdp decoders' unit tests read (vsock.hex,
# tipc.hex, xdp.hex here: one reply datagram a line, in hex) from a real kernel: the
# Debian 12 6.12 guest of `cargo xtask kernels`, the series whose package has all three diag
# modules (vsock_diag, tipc_diag, xsk_diag). Its init (xtask/src/kernels/guest-init.sh) has
# familysocks (tests/src/bin/familysocks.rs) make the sockets, send ss's three dump requests
# and print each reply as `sockwatch-capture: FAMILY HEX` on the console.
#
# Usage: capture.sh [CONSOLE_LOG]  (default: boot the guest, then read its console log)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
log=${1:-}
if [ -z "$log" ]; then
	(cd "$here/../../../.." && cargo xtask kernels 6.12) ||
		echo "capture.sh: some guest checks failed; the replies are taken all the same" >&2
	log=$(ls -t "$HOME"/.cache/sockwatch/kernels/6.12.*.console.log | head -n 1)
fi
for family in vsock tipc xdp; do
	tr -d '\r' <"$log" | sed -n "s/^sockwatch-capture: $family \([0-9a-f]*\)$/\1/p" >"$here/$family.hex"
	if [ ! -s "$here/$family.hex" ]; then
		echo "capture.sh: no $family replies in $log" >&2
		exit 1
	fi
	echo "$family: $(wc -l <"$here/$family.hex") datagram(s) from $log"
done
