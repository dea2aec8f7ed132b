// ksmbd.conf parsing of arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<sd::config::Diagnostic> diags;
  (void)sd::config::loadConfigString(
      std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.conf", &diags);
  return 0;
}
