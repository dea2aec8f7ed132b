// FILE_NOTIFY_INFORMATION (MS-FSCC 2.7.1): the records of a CHANGE_NOTIFY response.
#include "fscc/notify_info.h"

#include <gtest/gtest.h>

namespace sd::fscc {
namespace {

// Each record but the last is padded to 4 bytes and chained by NextEntryOffset; names go out
// as UTF-16LE with '\' separators (byte layout as Windows and Samba send it).
TEST(NotifyInfo, EncodesChainedPaddedRecords) {
  Bytes b = encodeNotifyInformation({{kFileActionAdded, "a"}, {kFileActionRenamedNewName, "d/bc"}});
  // "a": 12 + 2 = 14 -> padded to 16; "d\bc": 12 + 8 = 20, last, unpadded.
  ASSERT_EQ(b.size(), 16u + 20u);
  EXPECT_EQ(le32(b.data()), 16u);
  EXPECT_EQ(le32(b.data() + 4), kFileActionAdded);
  EXPECT_EQ(le32(b.data() + 8), 2u);
  EXPECT_EQ(b[12], 'a');
  EXPECT_EQ(b[13], 0);
  EXPECT_EQ(b[14], 0);  // padding
  EXPECT_EQ(le32(b.data() + 16), 0u);
  EXPECT_EQ(le32(b.data() + 20), kFileActionRenamedNewName);
  EXPECT_EQ(le32(b.data() + 24), 8u);
  EXPECT_EQ(b[28 + 2], '\\');
  auto back = decodeNotifyInformation(b);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0], (NotifyEntry{kFileActionAdded, "a"}));
  EXPECT_EQ((*back)[1], (NotifyEntry{kFileActionRenamedNewName, "d\\bc"}));
  EXPECT_EQ(notifyEntrySize({kFileActionAdded, "a"}), 16u);
  EXPECT_EQ(notifyEntrySize({kFileActionAdded, "ab"}), 16u);
  EXPECT_EQ(notifyEntrySize({kFileActionAdded, "abc"}), 20u);
}

TEST(NotifyInfo, NonAsciiNames) {
  Bytes b = encodeNotifyInformation({{kFileActionRemoved, "caf\xc3\xa9/\xf0\x9f\x98\x80"}});
  auto back = decodeNotifyInformation(b);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].name, "caf\xc3\xa9\\\xf0\x9f\x98\x80");
  EXPECT_EQ(le32(b.data() + 8), 2u * (4 + 1 + 2));  // a surrogate pair is two code units
}

TEST(NotifyInfo, DecoderIsBounded) {
  Bytes b = encodeNotifyInformation({{kFileActionAdded, "abc"}, {kFileActionAdded, "d"}});
  for (size_t n = 0; n < b.size(); n++) {
    auto r = decodeNotifyInformation(ByteView(b.data(), n));
    if (r) {
      EXPECT_LE(r->size(), 2u);  // a prefix never reads past its end
    }
  }
  Bytes bad = b;
  store32(bad.data(), 4);  // NextEntryOffset inside the record itself
  EXPECT_FALSE(decodeNotifyInformation(bad));
  store32(bad.data(), 4096);  // past the end
  EXPECT_FALSE(decodeNotifyInformation(bad));
  EXPECT_TRUE(decodeNotifyInformation({})->empty());
}

}  // namespace
}  // namespace sd::fscc
