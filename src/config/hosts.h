// `hosts allow` / `hosts deny` (smb.conf(5), ksmbd.conf(5)): which client addresses may connect
// (in [global]) or use a share (in a share's section). Pure; any thread.
//
// An entry is an IPv4 or IPv6 address, a network as address/prefix-length or
// address/netmask, an IPv4 prefix ending in '.' ("192.168."), or ALL; "a EXCEPT b" matches
// what `a` matches and `b` does not. Host and domain names are not resolved: such an entry is a
// configuration error (hostsListError), never silently ignored. The decision is Samba's:
// no lists: allowed; only allow: allowed if listed; only deny: allowed unless listed; both: an
// address in `allow` is allowed, else one in `deny` is refused, else allowed. Unlike Samba,
// loopback addresses get no exception.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sd::config {

// The first entry of `list` that is not understood, with why; nullopt when all are.
std::optional<std::string> hostsListError(const std::vector<std::string>& list);

// Does `addr` (numeric, "1.2.3.4", "::1", "::ffff:1.2.3.4"; an optional ":port" or
// "[v6]:port" is ignored) match `list`?
bool hostsListMatches(const std::vector<std::string>& list, std::string_view addr);

// The smb.conf decision for a client at `addr`. An address that cannot be parsed is refused
// whenever either list is set.
bool hostAllowed(const std::vector<std::string>& allow, const std::vector<std::string>& deny,
                 std::string_view addr);

}  // namespace sd::config
