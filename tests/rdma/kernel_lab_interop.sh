#!/bin/bash
# Interop of the soft iWARP provider with the Linux kernel's soft-iWARP (siw), through the kernel
# lab (../shared/kernel-lab): rping in the guest against `smbdirect-rdma ping` on the host, both
# directions, data verified; then (if given) the conformance suite on the rdma-core provider
# inside the guest on siw (and rxe when present).
# Usage: kernel_lab_interop.sh SMBDIRECT_RDMA [RDMA_TESTS]
# Skipped (exit 77) unless SMBDIRECT_KERNEL_LAB=1: a run boots a VM (minutes under TCG). Needs root.
set -u
TOOL=${1:?smbdirect-rdma binary}
TESTS=${2:-}
if [ "${SMBDIRECT_KERNEL_LAB:-0}" != 1 ]; then
	echo "skipped: set SMBDIRECT_KERNEL_LAB=1 to run the kernel-lab interop test"
	exit 77
fi
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=${KERNEL_LAB:-$HERE/../../../shared/kernel-lab/lab.sh}
[ -x "$LAB" ] || { echo "no kernel lab at $LAB"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: the kernel lab needs root"; exit 77; }
WORK=$(mktemp -d /tmp/rdma-interop.XXXXXX)
COUNT=${RPING_COUNT:-100}
STEPS=${INTEROP_STEPS:-"rping-to-host rping-from-host conformance"}
want() { case " $STEPS " in *" $1 "*) return 0 ;; esac; return 1; }
FAIL=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT

free_port() {
	local p
	for p in $(seq "$1" $(($1 + 200))); do
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

result() { echo "RESULT $1: $2"; [ "$2" = PASS ] || FAIL=1; }

# 1. guest rping client -> host smbdirect-rdma ping server (soft provider), CRC off then on.
want rping-to-host && for crc in 0 1; do
	P=$(free_port 27000)
	SD_SOFT_CRC=$crc "$TOOL" ping -s -P soft -a 127.0.0.1 -p "$P" -C "$COUNT" -V >"$WORK/server$crc.log" 2>&1 &
	spid=$!
	pids+=("$spid")
	"$LAB" --scenario shell --guest-cmd "rdma link add siw0 type siw netdev eth0 && rping -c -a 10.0.2.2 -p $P -C $COUNT -v -V" \
		>"$WORK/lab1-$crc.log" 2>&1
	lab=$?
	wait "$spid"
	srv=$?
	n=$(grep -c '> ping data: rdma-ping-' "$WORK/lab1-$crc.log")
	echo "guest rping -c -> host ping -s (crc=$crc): lab rc $lab, host server rc $srv, $n pings shown by rping"
	grep 'rping server:' "$WORK/server$crc.log"
	if [ "$lab" = 0 ] && [ "$srv" = 0 ] && [ "$n" = "$COUNT" ] &&
		grep -q "rping server: $COUNT pings, $COUNT with verified" "$WORK/server$crc.log"; then
		result "guest-rping-client-to-host-crc$crc" PASS
	else
		result "guest-rping-client-to-host-crc$crc" FAIL
		tail -30 "$WORK/lab1-$crc.log"; cat "$WORK/server$crc.log"
	fi
done

# 2. host smbdirect-rdma ping client -> guest rping server on 5445 (through the lab's forward),
# with the RFC 6581 peer-to-peer RTR exchange (the default; P2P_MODES="1 0" also tries without:
# then siw can leave our first Send unprocessed, see docs/rdma.md). The host
# retries until the guest listens; QEMU accepts the TCP connection before the guest does, so an
# attempt may wait long for the guest: it must not give up (a half-set-up connection confuses
# rping, which serves one connection only).
for p2p in ${P2P_MODES:-1}; do
	want rping-from-host || break
	H=$(free_port 25445)
	: >"$WORK/client$p2p.log"
	(
		end=$(($(date +%s) + 500))
		while [ "$(date +%s)" -lt "$end" ]; do
			echo "=== attempt $(date +%T)" >>"$WORK/client$p2p.log"
			if SD_SOFT_P2P=$p2p SD_RDMA_CONNECT_TIMEOUT_MS=450000 "$TOOL" ping -c -P soft -a 127.0.0.1 -p "$H" \
				-C "$COUNT" -v -V >>"$WORK/client$p2p.log" 2>&1; then
				exit 0
			fi
			sleep 1
		done
		exit 1
	) &
	cpid=$!
	pids+=("$cpid")
	"$LAB" --scenario shell --host-rdma-port "$H" --timeout 900 \
		--guest-cmd "rdma link add siw0 type siw netdev eth0 && rping -s -a 0.0.0.0 -p 5445 -C $COUNT -v -V" \
		>"$WORK/lab2-$p2p.log" 2>&1
	lab=$?
	wait "$cpid"
	cli=$?
	n=$(grep -c '^ping data: rdma-ping-' "$WORK/client$p2p.log")
	g=$(grep -c '> server ping data: rdma-ping-' "$WORK/lab2-$p2p.log")
	echo "host ping -c (p2p=$p2p) -> guest rping -s: lab rc $lab, host client rc $cli, $n pings verified on the host, $g shown by the guest"
	grep 'rping client:' "$WORK/client$p2p.log"
	if [ "$lab" = 0 ] && [ "$cli" = 0 ] && [ "$n" = "$COUNT" ]; then
		result "host-ping-client-to-guest-rping-p2p$p2p" PASS
	else
		result "host-ping-client-to-guest-rping-p2p$p2p" FAIL
		tail -30 "$WORK/lab2-$p2p.log"; grep -v '^=== attempt\|CONNECT_ERROR' "$WORK/client$p2p.log" | tail -20
	fi
done

# 3. the conformance suite on the rdma-core provider inside the guest (siw, then rxe).
if want conformance && [ -n "$TESTS" ] && [ -x "$TESTS" ]; then
	mkdir -p "$WORK/guest"
	cp "$TESTS" "$WORK/guest/rdma_tests"
	cp "$TOOL" "$WORK/guest/smbdirect-rdma"
	for dev in siw rxe; do
		"$LAB" --scenario shell --guest-files "$WORK/guest" \
			--guest-cmd "rdma link add ${dev}0 type $dev netdev eth0 && /opt/lab/smbdirect-rdma devices; SD_RDMA_TEST_ADDR=10.0.2.15 /opt/lab/rdma_tests --gtest_filter='*verbs*' --gtest_brief=1" \
			>"$WORK/lab3-$dev.log" 2>&1
		lab=$?
		grep -E '> .*(PASSED|FAILED|SKIPPED|tests ran)' "$WORK/lab3-$dev.log" | head -20
		if [ "$lab" = 0 ] && grep -q '> .*PASSED' "$WORK/lab3-$dev.log"; then
			result "guest-conformance-verbs-$dev" PASS
		else
			result "guest-conformance-verbs-$dev" FAIL
			grep '^  > ' "$WORK/lab3-$dev.log" | tail -40
		fi
	done
fi
echo "logs in $WORK"
exit $FAIL
