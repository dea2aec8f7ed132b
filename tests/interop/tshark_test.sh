#!/usr/bin/env bash
# tshark decodes a captured smbclient session with smbdirectd (negotiate to logoff, signed, then
# sealed) without any "Malformed Packet" or expert error from the smb2 dissector. It runs in a
# network namespace of its own (tests/capture.sh), so no other test's traffic shares its
# loopback while dumpcap captures.
. "$(dirname "$0")/../capture.sh" "$@"
. "$(dirname "$0")/lib.sh"
start_server "" "" || { not_ok "server start"; finish; exit 1; }
echo payload > "$WORK/local/f.txt"
check "tshark is capturing" start_capture "$PORT" "$WORK"
sleep 0.3
for mode in "SMB3_11 sign" "SMB3_02 sign" "SMB3_00 sign" "SMB3_11 encrypt"; do
  set -- $mode
  smbclient //127.0.0.1/share -p "$PORT" -U smbtest%Pass-1234 -m "$1" --client-protection="$2" \
    -c "mkdir cap_$1; put $WORK/local/f.txt cap_$1/f.txt; ls cap_$1/*; get cap_$1/f.txt $WORK/local/g.txt; rm cap_$1/f.txt; rmdir cap_$1" >/dev/null 2>&1
done
smbclient -L 127.0.0.1 -p "$PORT" -U smbtest%Pass-1234 -m SMB3 >/dev/null 2>&1
sleep 0.5
stop_capture "$WORK"
tshark -r "$WORK/cap.pcap" -d "tcp.port==$PORT,nbss" -V > "$WORK/decoded.txt" 2>&1
n=$(grep -c "SMB2 (Server Message Block Protocol version 2)" "$WORK/decoded.txt")
check "tshark decoded the SMB2 traffic ($n SMB2 PDUs)" test "$n" -gt 50
check "no Malformed Packet" bash -c "! grep -n 'Malformed Packet' $WORK/decoded.txt"
check "no dissector errors" bash -c "! grep -n 'Expert Info (Error' $WORK/decoded.txt"
grep -n -B3 'Malformed Packet\|Expert Info (Error' "$WORK/decoded.txt" | head -20
finish
