# Sourced first by a capture test (tshark on lo). It re-runs the calling script in a network
# namespace of its own (loopback only, TCP autocorking off), then exits with its status. Inside,
# no other test's traffic can reach the capture's port or compete with dumpcap for the loopback,
# and each FPDU leaves in a segment of its own as far as Linux allows. Where namespaces are not
# available (not root, no `ip`, or a sandbox that refuses them) the script goes on in the current
# namespace.
#   . "$(dirname "$0")/../capture.sh" "$@"
if [ -z "${SD_IN_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
  _sd_ns=sdcap$$
  if ip netns add "$_sd_ns" 2>/dev/null; then
    ip netns exec "$_sd_ns" ip link set lo up
    ip netns exec "$_sd_ns" sysctl -qw net.ipv4.tcp_autocorking=0
    SD_IN_NETNS=1 ip netns exec "$_sd_ns" bash "$0" "$@"
    _sd_rc=$?
    ip netns del "$_sd_ns"
    exit $_sd_rc
  fi
fi

# start_capture PORT DIR: tshark captures TCP port PORT on lo into DIR/cap.pcap (its messages in
# DIR/tshark.log; TPID its pid). Returns 0 once it captures (up to 15 s), else prints its log,
# stops it and returns 1.
start_capture() {
  tshark -i lo -f "tcp port $1" -w "$2/cap.pcap" -q >"$2/tshark.log" 2>&1 &
  TPID=$!
  for _ in $(seq 1 150); do grep -q "Capturing on" "$2/tshark.log" && return 0; sleep 0.1; done
  cat "$2/tshark.log"
  kill "$TPID" 2>/dev/null
  return 1
}

# stop_capture DIR: ends the capture and prints dumpcap's captured/dropped counts.
stop_capture() {
  kill -INT "$TPID"
  wait "$TPID" 2>/dev/null
  grep -iE "captured|dropped" "$1/tshark.log"
}
