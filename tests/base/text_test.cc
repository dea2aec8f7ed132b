#include "base/text.h"

#include <gtest/gtest.h>

namespace sd {
namespace {

TEST(Text, RoundTripsBmpAndSupplementary) {
  std::string s = "caf\xc3\xa9 \xf0\x9f\x98\x80 x";
  auto u = utf8ToUtf16le(s);
  ASSERT_TRUE(u);
  auto back = utf16leToUtf8(*u);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
  EXPECT_EQ(toHex(utf16le("Ab")), "41006200");
}

TEST(Text, RejectsBadInput) {
  EXPECT_FALSE(utf16leToUtf8(fromHex("410")).has_value());         // odd -> 1 byte
  EXPECT_FALSE(utf16leToUtf8(fromHex("00d8")).has_value());        // lone high surrogate
  EXPECT_FALSE(utf16leToUtf8(fromHex("00dc4100")).has_value());    // lone low surrogate
  EXPECT_FALSE(utf8ToUtf16le("\xc3").has_value());                 // truncated
  EXPECT_FALSE(utf8ToUtf16le("\xc0\x80").has_value());             // overlong
  EXPECT_FALSE(utf8ToUtf16le("\xed\xa0\x80").has_value());         // surrogate
}

TEST(Text, CaseHelpers) {
  EXPECT_EQ(asciiUpper("User1"), "USER1");
  EXPECT_TRUE(iequals("IPC$", "ipc$"));
  EXPECT_FALSE(iequals("a", "ab"));
}

}  // namespace
}  // namespace sd
