// UTF-8 <-> UTF-16LE conversion for wire strings, case folding for names. Owned by base/; any thread.
#pragma once
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace sd {

// Decodes UTF-16LE (odd length or unpaired surrogates are an error) to UTF-8.
Result<std::string> utf16leToUtf8(ByteView in);
// Encodes UTF-8 (invalid sequences are an error) as UTF-16LE.
Result<Bytes> utf8ToUtf16le(std::string_view in);
// Convenience for trusted input (literals, our own names): invalid bytes become U+FFFD.
Bytes utf16le(std::string_view in);
void appendUtf16le(ByteWriter& w, std::string_view in);
// ASCII upper-casing of UTF-8 text (NTLM uses upper-cased user names).
std::string asciiUpper(std::string_view s);
std::string asciiLower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

}  // namespace sd
