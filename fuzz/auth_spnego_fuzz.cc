// SPNEGO/NTLMSSP as a server sees it: two arbitrary tokens through SpnegoServer (and the raw
// NTLMSSP path), plus the client's parsing of a server token.
#include <cstddef>
#include <cstdint>

#include "auth/spnego.h"

using namespace sd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t split = data[0] % size;
  ByteView a(data + 1, split > 0 ? split - 1 : 0), b(data + split, size - split);
  auto lookup = [](std::string_view, std::string_view) -> std::optional<auth::NtHash> {
    return auth::ntHash("password");
  };
  auth::SpnegoServer server(auth::NtlmServerOptions{}, lookup);
  auto s1 = server.step(a);
  if (s1 && !s1->done) (void)server.step(b);
  auth::SpnegoClient client("user", "DOMAIN", "password");
  (void)client.initial();
  (void)client.step(b);
  return 0;
}
