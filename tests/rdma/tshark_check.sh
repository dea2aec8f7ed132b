#!/bin/bash
# Captures the soft provider's traffic on loopback (rping exchange with CRC32c on, RDMA write/read
# and send bandwidth, send latency) and checks that tshark decodes it as iWARP (iwarp_mpa,
# iwarp_ddp_rdmap) with no malformed packets and only good CRCs.
# Usage: tshark_check.sh SMBDIRECT_RDMA. Exit 77 (skipped) without tshark or capture rights.
# The run goes into a network namespace of its own (tests/capture.sh): nothing else on the
# machine can use its port or load its loopback while dumpcap captures.
. "$(dirname "$0")/../capture.sh" "$@"
set -u
TOOL=${1:?smbdirect-rdma binary}
command -v tshark >/dev/null || { echo "skipped: no tshark"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: capturing on lo needs root"; exit 77; }
WORK=$(mktemp -d /tmp/rdma-tshark.XXXXXX)
# A free port below the ephemeral range (32768+), so that no other test's listener or outgoing
# connection can hold it while the tool pairs run (ctest runs tests in parallel).
PORT=""
for _ in $(seq 1 100); do
	p=$((20000 + RANDOM % 10000))
	if [ -z "$(ss -Hltn "sport = :$p")" ] && [ -z "$(ss -Htn "sport = :$p or dport = :$p")" ]; then PORT=$p; break; fi
done
[ -n "$PORT" ] || { echo "no free port"; exit 1; }
start_capture "$PORT" "$WORK" || { echo "skipped: tshark cannot capture on lo here"; exit 77; }
sleep 0.5
run_pair() {  # server args, client args
	local s c
	SD_SOFT_CRC=1 "$TOOL" $1 -s -P soft -a 127.0.0.1 -p "$PORT" >>"$WORK/server.log" 2>&1 &
	s=$!
	for _ in $(seq 1 50); do ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.05; done
	"$TOOL" $2 -c -P soft -a 127.0.0.1 -p "$PORT" >>"$WORK/client.log" 2>&1
	c=$?
	wait "$s"
	return $c
}
rc=0
run_pair "ping" "ping -C 10 -S 1000 -V" || rc=1
run_pair "bw" "bw -o write -S 8000 -n 50 -q 4" || rc=1
run_pair "bw" "bw -o read -S 30000 -n 20 -q 2" || rc=1
run_pair "bw" "bw -o send -S 2000 -n 100 -q 4" || rc=1
run_pair "lat" "lat -o send -S 64 -n 50" || rc=1
sleep 0.5
stop_capture "$WORK"
# The Send payloads here are test patterns, not a ULP: without this, Wireshark's RPC-over-RDMA and
# SMB Direct heuristics sometimes claim a payload and report *their* decode as malformed.
TS=(tshark --disable-protocol rpcordma --disable-protocol smb_direct -r "$WORK/cap.pcap")
"${TS[@]}" -V >"$WORK/decoded.txt" 2>/dev/null
mpa=$("${TS[@]}" -Y iwarp_mpa 2>/dev/null | wc -l)
ddp=$("${TS[@]}" -Y iwarp_ddp_rdmap 2>/dev/null | wc -l)
bad=$(grep -ci malformed "$WORK/decoded.txt")
good=$(grep -c "Good CRC32" "$WORK/decoded.txt")
badcrc=$(grep -c "Bad CRC32" "$WORK/decoded.txt")
echo "frames: iwarp_mpa $mpa, iwarp_ddp_rdmap $ddp; malformed $bad; CRC good $good bad $badcrc"
"${TS[@]}" -Y iwarp_ddp_rdmap -T fields -e iwarp_rdma.opcode 2>/dev/null | sort | uniq -c
[ "$rc" = 0 ] || { echo "FAIL: a tool run failed"; cat "$WORK/client.log"; exit 1; }
if [ "$mpa" -gt 0 ] && [ "$ddp" -gt 0 ] && [ "$bad" = 0 ] && [ "$good" -gt 0 ] && [ "$badcrc" = 0 ]; then
	echo PASS; rm -rf "$WORK"; exit 0
fi
# What a failure needs to be understood where its capture is gone (a CI machine), beside
# dumpcap's counts (stop_capture): each connection, and every frame tshark flags with its TCP
# stream and extent.
echo "--- connections:"; "${TS[@]}" -q -z conv,tcp 2>/dev/null | grep -E "<->"
echo "--- frames flagged malformed (frame, stream, src port, seq, len, info):"
"${TS[@]}" -Y "_ws.malformed || _ws.expert.group == 0x07000000" -T fields -e frame.number \
	-e tcp.stream -e tcp.srcport -e tcp.seq -e tcp.len -e _ws.col.Info 2>/dev/null | head -20
echo "--- server log:"; cat "$WORK/server.log"
echo "--- client log:"; cat "$WORK/client.log"
echo "FAIL (capture in $WORK)"
exit 1
