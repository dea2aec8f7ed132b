#!/usr/bin/env bash
# tshark decodes a capture of SMB Direct between our client and smbdirectd (soft iWARP provider,
# CRC32c on): negotiate to logoff, plain (RDMA reads/writes), signed (inline), sealed (3.1.1 with
# the RDMA encryption transform: encrypted RDMA reads/writes) and sealed inline, with no malformed
# packet: iwarp_mpa, iwarp_ddp_rdmap, smb_direct and smb2 all present.
# Wireshark 4.0's iwarp_mpa dissector does not decode every FPDU of a TCP segment that holds
# several, and Linux coalesces back-to-back sends on loopback (TCP autocorking): the run goes into
# a network namespace of its own with autocorking off (tests/capture.sh).
. "$(dirname "$0")/../capture.sh" "$@"
. "$(dirname "$0")/lib.sh"
: "${SMBDIRECT:=$(dirname "$SMBDIRECTD")/smbdirect}"
command -v tshark >/dev/null || { echo "skipped: no tshark"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: capturing on lo needs root"; exit 77; }
P=$((30000 + RANDOM % 20000))
start_server "	smb direct port = $P" "" || { not_ok "server start"; finish; exit 1; }
check "SMB Direct on port $P" test "$RDMA_PORT" = "$P"
start_capture "$P" "$WORK" || { echo "skipped: tshark cannot capture on lo"; exit 77; }
sleep 0.5
export PASSWD=Pass-1234 SD_SOFT_CRC=1
head -c 300000 /dev/urandom > "$WORK/local/f.bin"
for mode in "3.1.1" "3.0" "3.1.1 --sign" "3.1.1 --seal" "3.1.1 --seal --no-rdma-transform"; do
  set -- $mode
  C=("$SMBDIRECT" -q -U smbtest --rdma -p "$P" --vers "$@")
  check "put $mode" "${C[@]}" put "$WORK/local/f.bin" //127.0.0.1/share/f.bin
  check "get $mode" "${C[@]}" get //127.0.0.1/share/f.bin "$WORK/local/g.bin"
  check "ls $mode" "${C[@]}" ls //127.0.0.1/share
  rm -f "$WORK/local/g.bin"
done
sleep 0.5
stop_capture "$WORK"
TS=(tshark -r "$WORK/cap.pcap")
"${TS[@]}" -V >"$WORK/decoded.txt" 2>/dev/null
count() { "${TS[@]}" -Y "$1" 2>/dev/null | wc -l; }
mpa=$(count iwarp_mpa); ddp=$(count iwarp_ddp_rdmap); smbd=$(count smb_direct); smb2=$(count smb2)
# As in tshark_test.sh: no "Malformed Packet" and no error-level expert info. (Wireshark 3.6/4.0
# reads the NEGOTIATE response's SPNEGO negHints [3], which Windows and Samba send too, as an
# RFC 4178 mechListMIC and adds a BER warning; that warning is counted, not failed.)
# Every "Malformed Packet" must be explained by one of two Wireshark 4.0 limits, else it fails:
#  - an RDMA READ response is exactly the 16-byte fixed part (DataLength 0, DataRemaining = bytes
#    placed by RDMA Write), as ksmbd and Windows send it and as cifs.ko requires; Wireshark wants
#    the Buffer byte StructureSize 17 implies;
#  - iwarp_mpa decodes only the first FPDU of a TCP segment, so a large inline message whose
#    FPDUs shared segments is reassembled short by smb_direct ("length of contained item exceeds").
"${TS[@]}" 2>/dev/null | grep "Malformed Packet" >"$WORK/malformed.txt"
rdma_read=$(grep -c "Read Response\[Malformed Packet\]" "$WORK/malformed.txt")
short=$(grep -c "length of contained item exceeds" "$WORK/malformed.txt")
multi=$("${TS[@]}" -Y "iwarp_mpa && tcp.len > 1500" 2>/dev/null | wc -l)
[ "$short" -gt 0 ] && [ "$multi" -eq 0 ] && short=0  # not explained by multi-FPDU segments
bad=$(( $(wc -l <"$WORK/malformed.txt") - rdma_read - short + $(grep -c "Expert Info (Error" "$WORK/decoded.txt") - $(grep -c "Expert Info (Error/Malformed)" "$WORK/decoded.txt") ))
warn=$(grep -c "Expert Info (Warning/Malformed)" "$WORK/decoded.txt")
badcrc=$(grep -c "Bad CRC32" "$WORK/decoded.txt")
echo "# frames: iwarp_mpa $mpa, iwarp_ddp_rdmap $ddp, smb_direct $smbd, smb2 $smb2; unexplained malformed $bad (RDMA read responses $rdma_read, short reassemblies $short with $multi multi-FPDU segments, BER warnings $warn); bad CRC $badcrc"
check "iWARP decoded" test "$mpa" -gt 0 -a "$ddp" -gt 0
check "smb_direct decoded" test "$smbd" -gt 0
check "smb2 decoded inside smb_direct" test "$smb2" -gt 0
check "no unexplained malformed packet" test "$bad" -eq 0
check "no bad CRC" test "$badcrc" -eq 0
[ "$FAIL" -eq 0 ] || cp "$WORK/cap.pcap" /tmp/smbdirect-tshark-failed.pcap
finish
