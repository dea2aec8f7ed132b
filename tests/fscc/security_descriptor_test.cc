#include "fscc/security_descriptor.h"

#include <gtest/gtest.h>

namespace sd::fscc {
namespace {

TEST(Sid, StringAndBinaryRoundTrip) {
  for (const char* s : {"S-1-1-0", "S-1-5-21-1004336348-1177238915-682003330-512", "S-1-22-1-1000",
                        "S-1-5-32-544", "S-1-0x123456789ABC-7", "S-1-3"}) {
    auto sid = parseSid(s);
    ASSERT_TRUE(sid) << s;
    EXPECT_EQ(sidToString(*sid), s);
    auto back = decodeSid(encodeSid(*sid));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, *sid);
  }
  for (const char* bad : {"", "S-", "S-1", "S-2-5", "X-1-5", "S-1-5-", "S-1-5-x",
                          "S-1-5-4294967296", "S-1-1-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"})
    EXPECT_FALSE(parseSid(bad)) << bad;
}

TEST(Sid, GoldenEveryoneAndUnixUser) {
  EXPECT_EQ(toHex(encodeSid(everyoneSid())), "0101000000000001" "00000000");
  // S-1-22-1-1000: authority 22 big-endian, sub-authorities little-endian.
  EXPECT_EQ(toHex(encodeSid(unixUserSid(1000))), "0102000000000016" "01000000" "e8030000");
  EXPECT_EQ(sidToString(unixGroupSid(100)), "S-1-22-2-100");
  Bytes b = encodeSid(unixUserSid(1000));
  for (size_t n = 0; n < b.size(); n++) EXPECT_FALSE(decodeSid(ByteView(b).first(n))) << n;
  b[1] = 16;  // SubAuthorityCount > 15
  EXPECT_FALSE(decodeSid(b));
}

// A descriptor with owner, group and a one-ACE DACL, laid out by hand from MS-DTYP 2.4.6.
TEST(Sid, UnixIdsBackFromSids) {
  EXPECT_EQ(uidOfUnixSid(unixUserSid(1000)), 1000u);
  EXPECT_EQ(gidOfUnixSid(unixGroupSid(27)), 27u);
  EXPECT_FALSE(uidOfUnixSid(unixGroupSid(27)));   // a group SID is no user
  EXPECT_FALSE(gidOfUnixSid(unixUserSid(1000)));
  EXPECT_FALSE(uidOfUnixSid(everyoneSid()));
  EXPECT_FALSE(uidOfUnixSid(makeSid(22, {1, 1000, 5})));  // one sub-authority too many
  EXPECT_FALSE(uidOfUnixSid(makeSid(5, {1, 1000})));      // another authority
}

TEST(SecurityDescriptor, Golden) {
  SecurityDescriptor sd;
  sd.owner = unixUserSid(1000);
  sd.group = unixGroupSid(1000);
  Acl dacl;
  dacl.aces.push_back({kAccessAllowedAceType, 0, kFileAllAccess, everyoneSid(), {}});
  sd.dacl = dacl;
  Bytes b = encodeSecurityDescriptor(sd);
  EXPECT_EQ(toHex(b),
            "01" "00" "0480"                         // Revision, Sbz1, Control SR|DACL_PRESENT
            "14000000" "24000000" "00000000" "34000000"  // Owner 20, Group 36, Sacl 0, Dacl 52
            "0102000000000016" "01000000" "e8030000"   // owner S-1-22-1-1000
            "0102000000000016" "02000000" "e8030000"   // group S-1-22-2-1000
            "02" "00" "1c00" "0100" "0000"           // ACL rev 2, size 28, 1 ACE
            "00" "00" "1400" "ff011f00"              // ACE allowed, size 20, FILE_ALL_ACCESS
            "0101000000000001" "00000000");          // S-1-1-0
  auto d = decodeSecurityDescriptor(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, (SecurityDescriptor{1, kSeSelfRelative | kSeDaclPresent, sd.owner, sd.group,
                                    std::nullopt, sd.dacl}));
}

TEST(SecurityDescriptor, RoundTripWithSaclAndOddAces) {
  SecurityDescriptor sd;
  sd.owner = *parseSid("S-1-5-21-1-2-3-500");
  Acl sacl;
  sacl.aces.push_back({kSystemAuditAceType, 0xC0, kDelete, everyoneSid(), {}});
  sd.sacl = sacl;
  Acl dacl;
  dacl.aces.push_back({kAccessDeniedAceType, kObjectInheritAce | kContainerInheritAce,
                       kFileWriteData, *parseSid("S-1-5-32-545"), {}});
  dacl.aces.push_back({kAccessAllowedAceType, kInheritOnlyAce, kFileGenericRead,
                       creatorOwnerSid(), {}});
  dacl.aces.push_back({0x05 /* object ACE, kept raw */, 0, 0, {}, {1, 2, 3, 4, 5, 6, 7, 8}});
  sd.dacl = dacl;
  Bytes b = encodeSecurityDescriptor(sd);
  auto d = decodeSecurityDescriptor(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->owner, sd.owner);
  EXPECT_FALSE(d->group);
  EXPECT_EQ(d->sacl, sd.sacl);
  EXPECT_EQ(d->dacl, sd.dacl);
  EXPECT_EQ(encodeSecurityDescriptor(*d), b);
}

TEST(SecurityDescriptor, TruncationAndCorruptionFailCleanly) {
  Bytes b = securityDescriptorFromPosix(1000, 1000, 0754, false, 0xF);
  for (size_t n = 0; n < b.size(); n++)
    EXPECT_FALSE(decodeSecurityDescriptor(ByteView(b).first(n))) << n;
  for (size_t field = 4; field < 20; field += 4) {
    for (uint32_t bad : {1u, 19u, uint32_t(b.size()), 0xFFFFFFFFu}) {
      Bytes c = b;
      store32(c.data() + field, bad);
      auto r = decodeSecurityDescriptor(c);
      if (field == 12) continue;  // SACL offset is ignored without SE_SACL_PRESENT
      EXPECT_FALSE(r) << field << " " << bad;
    }
  }
  // AclSize / AceSize / AceCount corruption inside the DACL.
  uint32_t dacl = le32(b.data() + 16);
  Bytes c = b;
  store16(c.data() + dacl + 2, 0xFFFF);
  EXPECT_FALSE(decodeSecurityDescriptor(c));
  c = b;
  store16(c.data() + dacl + 4, 0xFFFF);
  EXPECT_FALSE(decodeSecurityDescriptor(c));
  c = b;
  store16(c.data() + dacl + 8 + 2, 2);
  EXPECT_FALSE(decodeSecurityDescriptor(c));
}

TEST(SecurityDescriptor, PosixMapping) {
  auto sd = posixSecurityDescriptor(1000, 100, 0640, false, 0xF);
  ASSERT_TRUE(sd.owner && sd.group && sd.dacl);
  EXPECT_FALSE(sd.sacl);
  EXPECT_EQ(sidToString(*sd.owner), "S-1-22-1-1000");
  EXPECT_EQ(sidToString(*sd.group), "S-1-22-2-100");
  ASSERT_EQ(sd.dacl->aces.size(), 2u);  // other has no rights: no Everyone ACE
  const Ace& own = sd.dacl->aces[0];
  EXPECT_EQ(own.sid, unixUserSid(1000));
  EXPECT_EQ(own.mask & kFileGenericRead, kFileGenericRead);
  EXPECT_EQ(own.mask & kFileGenericWrite, kFileGenericWrite);
  EXPECT_EQ(own.mask & kFileExecute, 0u);
  EXPECT_TRUE(own.mask & kDelete);
  EXPECT_TRUE(own.mask & kWriteDac);
  EXPECT_EQ(sd.dacl->aces[1].mask, kFileGenericRead);
  EXPECT_EQ(sd.dacl->aces[1].sid, unixGroupSid(100));

  auto all = posixSecurityDescriptor(0, 0, 0777, true, kDaclSecurityInformation);
  EXPECT_FALSE(all.owner);
  EXPECT_FALSE(all.group);
  ASSERT_EQ(all.dacl->aces.size(), 3u);
  EXPECT_EQ(all.dacl->aces[2].sid, everyoneSid());
  EXPECT_EQ(all.dacl->aces[2].mask, kFileAllAccess);
  EXPECT_EQ(accessMaskFromPosix(2, true), kFileGenericWrite | kFileDeleteChild);
  EXPECT_EQ(accessMaskFromPosix(5, false), kFileGenericRead | kFileGenericExecute);

  // Only the requested parts appear; the others have offset 0.
  Bytes owner_only = securityDescriptorFromPosix(1, 2, 0644, false, kOwnerSecurityInformation);
  EXPECT_NE(le32(owner_only.data() + 4), 0u);
  EXPECT_EQ(le32(owner_only.data() + 8), 0u);
  EXPECT_EQ(le32(owner_only.data() + 12), 0u);
  EXPECT_EQ(le32(owner_only.data() + 16), 0u);
  EXPECT_EQ(le16(owner_only.data() + 2), kSeSelfRelative);
  Bytes none = securityDescriptorFromPosix(1, 2, 0644, false, kSaclSecurityInformation);
  EXPECT_EQ(none.size(), 20u);
}

// A NULL DACL (SE_DACL_PRESENT with offset 0) survives decode and encode.
TEST(SecurityDescriptor, NullDaclRoundTrip) {
  SecurityDescriptor sd;
  sd.control = kSeSelfRelative | kSeDaclPresent;
  sd.owner = unixUserSid(7);
  Bytes b = encodeSecurityDescriptor(sd);
  EXPECT_EQ(le16(b.data() + 2), kSeSelfRelative | kSeDaclPresent);
  EXPECT_EQ(le32(b.data() + 16), 0u);
  auto d = decodeSecurityDescriptor(b);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->dacl);
  EXPECT_TRUE(d->control & kSeDaclPresent);
  EXPECT_TRUE(hasNullDacl(*d));
  EXPECT_EQ(encodeSecurityDescriptor(*d), b);
}

TEST(AccessCheck, DaclOrderOwnerAndNullDacl) {
  Sid me = unixUserSid(1000), other = unixUserSid(2000);
  std::vector<Sid> token{me, unixGroupSid(1000), everyoneSid()};
  SecurityDescriptor sd;
  sd.owner = other;
  // NULL DACL: everything.
  EXPECT_EQ(grantedAccess(sd, token), kFileAllAccess);
  // Empty DACL: nothing, and the owner's implicit rights only for the owner.
  sd.dacl = Acl{};
  EXPECT_EQ(grantedAccess(sd, token), 0u);
  sd.owner = me;
  EXPECT_EQ(grantedAccess(sd, token), kReadControl | kWriteDac);
  // A deny before an allow wins; an allow before a deny wins (MS-DTYP 2.5.3.2 order).
  sd.owner = other;
  sd.dacl->aces = {{kAccessDeniedAceType, 0, kFileWriteData, everyoneSid(), {}},
                   {kAccessAllowedAceType, 0, kFileGenericRead | kFileGenericWrite, me, {}},
                   {kAccessAllowedAceType, 0, kDelete, other, {}},
                   {kAccessAllowedAceType, kInheritOnlyAce, kFileAllAccess, me, {}}};
  uint32_t g = grantedAccess(sd, token);
  EXPECT_FALSE(g & kFileWriteData);
  EXPECT_TRUE(g & kFileAppendData);
  EXPECT_TRUE(g & kFileReadData);
  EXPECT_FALSE(g & kDelete);  // not our SID; inherit-only ACEs do not count
  sd.dacl->aces[0].type = kAccessAllowedAceType;
  sd.dacl->aces[0].mask = 0x10000000;  // GENERIC_ALL maps to FILE_ALL_ACCESS
  EXPECT_EQ(grantedAccess(sd, token), kFileAllAccess);
}

TEST(SecurityDescriptor, MergeAndSelect) {
  auto current = posixSecurityDescriptor(1, 2, 0644, false, 0x7);
  SecurityDescriptor update;
  update.owner = everyoneSid();
  update.group = unixGroupSid(9);
  update.control = kSeSelfRelative | kSeDaclPresent | kSeDaclProtected;
  update.dacl = Acl{};
  // Only the selected parts change.
  auto m = mergeSecurityDescriptor(current, update, kOwnerSecurityInformation);
  EXPECT_EQ(m.owner, everyoneSid());
  EXPECT_EQ(m.group, current.group);
  EXPECT_EQ(m.dacl, current.dacl);
  m = mergeSecurityDescriptor(current, update, kDaclSecurityInformation);
  EXPECT_EQ(m.owner, current.owner);
  ASSERT_TRUE(m.dacl);
  EXPECT_TRUE(m.dacl->aces.empty());
  EXPECT_TRUE(m.control & kSeDaclProtected);
  // Generic rights are stored mapped in ACEs for the object itself (smbtorture smb2.acls.GENERIC,
  // smb2.acls.CREATOR); an inherit-only ACE keeps them for the children.
  SecurityDescriptor generic;
  generic.control = kSeSelfRelative | kSeDaclPresent;
  generic.dacl = Acl{};
  generic.dacl->aces = {{kAccessAllowedAceType, 0, 0x80000000u | kDelete, everyoneSid(), {}},
                        {kAccessAllowedAceType, 0, 0x10000000u, everyoneSid(), {}},
                        {kAccessAllowedAceType, kInheritOnlyAce | kObjectInheritAce, 0x40000000u,
                         everyoneSid(), {}}};
  m = mergeSecurityDescriptor(current, generic, kDaclSecurityInformation);
  ASSERT_TRUE(m.dacl);
  ASSERT_EQ(m.dacl->aces.size(), 3u);
  EXPECT_EQ(m.dacl->aces[0].mask, kFileGenericRead | kDelete);
  EXPECT_EQ(m.dacl->aces[1].mask, kFileAllAccess);
  EXPECT_EQ(m.dacl->aces[2].mask, 0x40000000u);
  // AUTO_INHERIT_REQ is never stored; AUTO_INHERITED only when AUTO_INHERIT_REQ came with it.
  generic.control = kSeSelfRelative | kSeDaclPresent | kSeDaclAutoInherited;
  m = mergeSecurityDescriptor(current, generic, kDaclSecurityInformation);
  EXPECT_FALSE(m.control & (kSeDaclAutoInherited | kSeDaclAutoInheritReq));
  generic.control |= kSeDaclAutoInheritReq | kSeDaclProtected;
  m = mergeSecurityDescriptor(current, generic, kDaclSecurityInformation);
  EXPECT_TRUE(m.control & kSeDaclAutoInherited);
  EXPECT_TRUE(m.control & kSeDaclProtected);
  EXPECT_FALSE(m.control & kSeDaclAutoInheritReq);
  // DACL selected but not present in the update: a NULL DACL.
  SecurityDescriptor no_dacl;
  m = mergeSecurityDescriptor(current, no_dacl, kDaclSecurityInformation);
  EXPECT_FALSE(m.dacl);
  EXPECT_TRUE(m.control & kSeDaclPresent);
  // Selecting parts for a query clears what was not asked for.
  auto sel = selectSecurityInformation(m, kOwnerSecurityInformation);
  EXPECT_TRUE(sel.owner);
  EXPECT_FALSE(sel.group);
  EXPECT_FALSE(sel.control & kSeDaclPresent);
  Bytes b = encodeSecurityDescriptor(sel);
  EXPECT_EQ(le16(b.data() + 2), kSeSelfRelative);
  sel = selectSecurityInformation(m, kDaclSecurityInformation);
  EXPECT_TRUE(sel.control & kSeDaclPresent);
  EXPECT_FALSE(sel.owner);
}

TEST(SecurityDescriptor, Inheritance) {
  Sid me = unixUserSid(5), grp = unixGroupSid(6);
  SecurityDescriptor parent;
  Acl dacl;
  dacl.aces = {{kAccessAllowedAceType, kObjectInheritAce, kFileGenericRead, everyoneSid(), {}},
               {kAccessAllowedAceType, kContainerInheritAce, kFileAllAccess, creatorOwnerSid(), {}},
               {kAccessAllowedAceType, 0, kFileAllAccess, everyoneSid(), {}},
               {kAccessDeniedAceType, kObjectInheritAce | kContainerInheritAce | kNoPropagateInheritAce,
                kDelete, creatorGroupSid(), {}}};
  parent.dacl = dacl;
  // The copies are marked INHERITED_ACE only under automatic inheritance (the parent's DACL
  // AUTO_INHERITED), as Windows does (smbtorture smb2.acls.INHERITFLAGS).
  for (uint8_t mark : {uint8_t(0), kInheritedAce}) {
    parent.control = mark ? uint16_t(kSeSelfRelative | kSeDaclAutoInherited) : kSeSelfRelative;
    auto file = inheritedDacl(parent, false, me, grp);
    ASSERT_TRUE(file);
    ASSERT_EQ(file->aces.size(), 2u);
    EXPECT_EQ(file->aces[0].flags, mark);
    EXPECT_EQ(file->aces[0].sid, everyoneSid());
    EXPECT_EQ(file->aces[1].sid, grp);
    EXPECT_EQ(file->aces[1].type, kAccessDeniedAceType);
    // A directory: the OBJECT_INHERIT ACE kept inherit-only for its files; the CREATOR OWNER
    // ACE split into one for the directory (its owner, no inheritance flags) and an
    // inherit-only original for its children; the NO_PROPAGATE one for the directory only.
    auto dir = inheritedDacl(parent, true, me, grp);
    ASSERT_TRUE(dir);
    ASSERT_EQ(dir->aces.size(), 4u);
    EXPECT_EQ(dir->aces[0].sid, everyoneSid());
    EXPECT_EQ(dir->aces[0].flags, kObjectInheritAce | kInheritOnlyAce | mark);
    EXPECT_EQ(dir->aces[1].sid, me);
    EXPECT_EQ(dir->aces[1].flags, mark);
    EXPECT_EQ(dir->aces[2].sid, creatorOwnerSid());
    EXPECT_EQ(dir->aces[2].flags, kContainerInheritAce | kInheritOnlyAce | mark);
    EXPECT_EQ(dir->aces[3].sid, grp);
    EXPECT_EQ(dir->aces[3].flags, mark);  // NO_PROPAGATE: stops here
  }
  // Generic rights: mapped in the copy for the object, kept in the one passed on.
  parent.control = kSeSelfRelative;
  parent.dacl->aces = {{kAccessAllowedAceType, kObjectInheritAce | kContainerInheritAce, 0x80000000u,
                        everyoneSid(), {}}};
  auto gdir = inheritedDacl(parent, true, me, grp);
  ASSERT_TRUE(gdir);
  ASSERT_EQ(gdir->aces.size(), 2u);
  EXPECT_EQ(gdir->aces[0].mask, kFileGenericRead);
  EXPECT_EQ(gdir->aces[0].flags, 0);
  EXPECT_EQ(gdir->aces[1].mask, 0x80000000u);
  EXPECT_EQ(gdir->aces[1].flags, kObjectInheritAce | kContainerInheritAce | kInheritOnlyAce);
  // An ordinary ACE passed on whole: one copy, effective and inheritable.
  parent.dacl->aces[0].mask = kFileAllAccess;
  gdir = inheritedDacl(parent, true, me, grp);
  ASSERT_TRUE(gdir);
  ASSERT_EQ(gdir->aces.size(), 1u);
  EXPECT_EQ(gdir->aces[0].flags, kObjectInheritAce | kContainerInheritAce);
  parent.dacl = dacl;
  parent.dacl->aces = {parent.dacl->aces[2]};
  EXPECT_FALSE(inheritedDacl(parent, false, me, grp));
  parent.dacl.reset();
  EXPECT_FALSE(inheritedDacl(parent, true, me, grp));
}

}  // namespace
}  // namespace sd::fscc
