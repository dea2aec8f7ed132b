# Sourced first by a capture test: re-runs the calling script in a network namespace of its own
# (loopback only, TCP autocorking off), then exits with its status. Inside, no other test's
# traffic can reach the capture's port or compete with dumpcap for the loopback, and each FPDU
# leaves in a segment of its own as far as Linux allows. Where namespaces are not available (not
# root, no `ip`, or a sandbox that refuses them) the script goes on in the current namespace.
#   . "$(dirname "$0")/../private_netns.sh" "$@"
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
