// Self-relative security descriptors: every offset from the wire is resolved with
// ByteReader::slice against the whole descriptor, and ACE walking is bounded by both AceCount
// and AclSize.
#include "fscc/security_descriptor.h"

#include <charconv>

namespace sd::fscc {

Sid makeSid(uint64_t authority, std::vector<uint32_t> subs) {
  Sid s;
  s.identifier_authority = authority & 0xFFFFFFFFFFFFull;
  s.sub_authority = std::move(subs);
  return s;
}

Sid everyoneSid() { return makeSid(1, {0}); }
Sid creatorOwnerSid() { return makeSid(3, {0}); }
Sid unixUserSid(uint32_t uid) { return makeSid(22, {1, uid}); }
Sid unixGroupSid(uint32_t gid) { return makeSid(22, {2, gid}); }

namespace {
std::optional<uint32_t> unixIdOf(const Sid& sid, uint32_t kind) {
  if (sid.revision != 1 || sid.identifier_authority != 22 || sid.sub_authority.size() != 2 ||
      sid.sub_authority[0] != kind)
    return std::nullopt;
  return sid.sub_authority[1];
}
}  // namespace

std::optional<uint32_t> uidOfUnixSid(const Sid& sid) { return unixIdOf(sid, 1); }
std::optional<uint32_t> gidOfUnixSid(const Sid& sid) { return unixIdOf(sid, 2); }

// MS-DTYP 2.4.2.1: S-1-<authority>-<sub>...; authority in hex ("0x...") when >= 2^32.
std::string sidToString(const Sid& sid) {
  std::string s = "S-" + std::to_string(sid.revision) + "-";
  if (sid.identifier_authority >= (1ull << 32)) {
    char buf[20];
    auto r = std::to_chars(buf, buf + sizeof buf, sid.identifier_authority, 16);
    s += "0x";
    for (char* p = buf; p < r.ptr; p++) s += char(*p >= 'a' ? *p - 32 : *p);
  } else {
    s += std::to_string(sid.identifier_authority);
  }
  for (uint32_t v : sid.sub_authority) s += "-" + std::to_string(v);
  return s;
}

Result<Sid> parseSid(std::string_view s) {
  if (s.size() < 2 || (s[0] != 'S' && s[0] != 's') || s[1] != '-') return malformed("SID prefix");
  s.remove_prefix(2);
  std::vector<std::string_view> parts;
  for (size_t n = 0; n < 2 + kSidMaxSubAuthorities + 1; n++) {
    size_t dash = s.find('-');
    parts.push_back(s.substr(0, dash));
    if (dash == std::string_view::npos) break;
    s.remove_prefix(dash + 1);
  }
  if (parts.size() < 2 || parts.size() > 2 + kSidMaxSubAuthorities) return malformed("SID parts");
  auto num = [](std::string_view p, uint64_t max) -> Result<uint64_t> {
    int base = 10;
    if (p.size() > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
      p.remove_prefix(2);
      base = 16;
    }
    uint64_t v = 0;
    if (p.empty()) return malformed("SID number");
    auto r = std::from_chars(p.data(), p.data() + p.size(), v, base);
    if (r.ec != std::errc() || r.ptr != p.data() + p.size() || v > max)
      return malformed("SID number");
    return v;
  };
  Sid sid;
  uint64_t rev = SD_TRY(num(parts[0], 255));
  if (rev != 1) return malformed("SID revision");
  sid.revision = 1;
  sid.identifier_authority = SD_TRY(num(parts[1], 0xFFFFFFFFFFFFull));
  for (size_t i = 2; i < parts.size(); i++)
    sid.sub_authority.push_back(uint32_t(SD_TRY(num(parts[i], 0xFFFFFFFFull))));
  return sid;
}

void encodeSid(ByteWriter& w, const Sid& sid) {
  size_t n = std::min(sid.sub_authority.size(), kSidMaxSubAuthorities);
  w.u8(sid.revision);
  w.u8(uint8_t(n));
  for (int i = 5; i >= 0; i--) w.u8(uint8_t(sid.identifier_authority >> (8 * i)));
  for (size_t i = 0; i < n; i++) w.u32(sid.sub_authority[i]);
}

Bytes encodeSid(const Sid& sid) {
  ByteWriter w;
  encodeSid(w, sid);
  return w.take();
}

Result<Sid> decodeSid(ByteReader& r) {
  Sid sid;
  sid.revision = SD_TRY(r.u8());
  if (sid.revision != 1) return malformed("SID revision");
  uint8_t count = SD_TRY(r.u8());
  if (count > kSidMaxSubAuthorities) return malformed("SubAuthorityCount > 15");
  auto auth = SD_TRY(r.bytes(6));
  for (uint8_t b : auth) sid.identifier_authority = (sid.identifier_authority << 8) | b;
  for (uint8_t i = 0; i < count; i++) sid.sub_authority.push_back(SD_TRY(r.u32()));
  return sid;
}

Result<Sid> decodeSid(ByteView in) {
  ByteReader r(in);
  return decodeSid(r);
}

namespace {

bool hasMaskAndSid(uint8_t type) {
  return type == kAccessAllowedAceType || type == kAccessDeniedAceType ||
         type == kSystemAuditAceType || type == kSystemMandatoryLabelAceType;
}

// MS-DTYP 2.4.4.1 ACE_HEADER: AceType (1), AceFlags (1), AceSize (2); AceSize is a multiple of 4.
void encodeAce(ByteWriter& w, const Ace& a) {
  size_t at = w.size();
  w.u8(a.type);
  w.u8(a.flags);
  w.u16(0);
  if (hasMaskAndSid(a.type)) {
    w.u32(a.mask);
    encodeSid(w, a.sid);
  }
  w.bytes(a.extra);
  while ((w.size() - at) % 4) w.u8(0);
  w.put16(at + 2, uint16_t(w.size() - at));
}

Result<Ace> decodeAce(ByteView body_with_header) {
  ByteReader r(body_with_header);
  Ace a;
  a.type = SD_TRY(r.u8());
  a.flags = SD_TRY(r.u8());
  SD_CHECK(r.skip(2));
  if (hasMaskAndSid(a.type)) {
    a.mask = SD_TRY(r.u32());
    a.sid = SD_TRY(decodeSid(r));
  }
  auto rest = r.rest();
  a.extra.assign(rest.begin(), rest.end());
  // Our own encoder pads with zeros to 4 bytes: drop that padding so round trips are exact.
  if (hasMaskAndSid(a.type))
    while (!a.extra.empty() && a.extra.back() == 0 && a.extra.size() < 4) a.extra.pop_back();
  return a;
}

}  // namespace

void encodeAcl(ByteWriter& w, const Acl& acl) {
  size_t at = w.size();
  w.u8(acl.revision);
  w.u8(0);
  w.u16(0);  // AclSize, below
  w.u16(uint16_t(acl.aces.size()));
  w.u16(0);
  for (const auto& a : acl.aces) encodeAce(w, a);
  w.put16(at + 2, uint16_t(w.size() - at));
}

Bytes encodeAcl(const Acl& acl) {
  ByteWriter w;
  encodeAcl(w, acl);
  return w.take();
}

Result<Acl> decodeAcl(ByteView in) {
  ByteReader r(in);
  Acl acl;
  acl.revision = SD_TRY(r.u8());
  if (acl.revision != 2 && acl.revision != 4) return malformed("AclRevision");
  SD_CHECK(r.skip(1));
  uint16_t acl_size = SD_TRY(r.u16());
  uint16_t count = SD_TRY(r.u16());
  SD_CHECK(r.skip(2));
  if (acl_size < 8) return malformed("AclSize");
  ByteReader whole(in);
  auto body = SD_TRY(whole.slice(0, acl_size));
  ByteReader aces(body);
  size_t pos = 8;
  for (uint16_t i = 0; i < count; i++) {
    auto hdr = SD_TRY(aces.slice(pos, 4));
    uint16_t ace_size = le16(hdr.data() + 2);
    if (ace_size < 4) return malformed("AceSize");
    auto ace = SD_TRY(aces.slice(pos, ace_size));
    acl.aces.push_back(SD_TRY(decodeAce(ace)));
    pos += ace_size;
  }
  return acl;
}

Bytes encodeSecurityDescriptor(const SecurityDescriptor& sd) {
  ByteWriter w;
  uint16_t control = sd.control | kSeSelfRelative;
  if (sd.dacl) control |= kSeDaclPresent;
  if (sd.sacl) control |= kSeSaclPresent;
  w.u8(sd.revision);
  w.u8(0);
  w.u16(control);
  size_t offsets = w.reserve(16);  // OffsetOwner, OffsetGroup, OffsetSacl, OffsetDacl
  if (sd.owner) {
    w.put32(offsets, uint32_t(w.size()));
    encodeSid(w, *sd.owner);
  }
  if (sd.group) {
    w.put32(offsets + 4, uint32_t(w.size()));
    encodeSid(w, *sd.group);
  }
  if (sd.sacl) {
    w.put32(offsets + 8, uint32_t(w.size()));
    encodeAcl(w, *sd.sacl);
  }
  if (sd.dacl) {
    w.put32(offsets + 12, uint32_t(w.size()));
    encodeAcl(w, *sd.dacl);
  }
  return w.take();
}

Result<SecurityDescriptor> decodeSecurityDescriptor(ByteView in) {
  ByteReader r(in);
  SecurityDescriptor sd;
  sd.revision = SD_TRY(r.u8());
  if (sd.revision != 1) return malformed("SD revision");
  SD_CHECK(r.skip(1));
  sd.control = SD_TRY(r.u16());
  if (!(sd.control & kSeSelfRelative)) return malformed("SD not self-relative");
  uint32_t off_owner = SD_TRY(r.u32());
  uint32_t off_group = SD_TRY(r.u32());
  uint32_t off_sacl = SD_TRY(r.u32());
  uint32_t off_dacl = SD_TRY(r.u32());
  auto sidAt = [&](uint32_t off) -> Result<Sid> {
    if (off < 20 || off >= in.size()) return malformed("SID offset");
    ByteReader sr(in, off);
    return decodeSid(sr);
  };
  auto aclAt = [&](uint32_t off) -> Result<Acl> {
    if (off < 20 || off >= in.size()) return malformed("ACL offset");
    return decodeAcl(in.subspan(off));
  };
  if (off_owner) sd.owner = SD_TRY(sidAt(off_owner));
  if (off_group) sd.group = SD_TRY(sidAt(off_group));
  if ((sd.control & kSeSaclPresent) && off_sacl) sd.sacl = SD_TRY(aclAt(off_sacl));
  if ((sd.control & kSeDaclPresent) && off_dacl) sd.dacl = SD_TRY(aclAt(off_dacl));
  return sd;
}

uint32_t accessMaskFromPosix(uint32_t rwx, bool directory) {
  rwx &= 7;
  if (rwx == 7) return kFileAllAccess;
  uint32_t m = 0;
  if (rwx & 4) m |= kFileGenericRead;
  if (rwx & 2) m |= kFileGenericWrite | (directory ? kFileDeleteChild : 0);
  if (rwx & 1) m |= kFileGenericExecute;
  return m;
}

SecurityDescriptor posixSecurityDescriptor(uint32_t uid, uint32_t gid, uint32_t mode,
                                           bool directory, uint32_t security_information) {
  SecurityDescriptor sd;
  if (security_information & kOwnerSecurityInformation) sd.owner = unixUserSid(uid);
  if (security_information & kGroupSecurityInformation) sd.group = unixGroupSid(gid);
  if (security_information & kDaclSecurityInformation) {
    Acl dacl;
    constexpr uint32_t kOwnerExtra = kDelete | kWriteDac | kWriteOwner | kReadControl |
                                     kFileReadAttributes | kFileWriteAttributes | kSynchronize;
    dacl.aces.push_back(
        {kAccessAllowedAceType, 0, accessMaskFromPosix(mode >> 6, directory) | kOwnerExtra,
         unixUserSid(uid), {}});
    uint32_t g = accessMaskFromPosix(mode >> 3, directory);
    if (g) dacl.aces.push_back({kAccessAllowedAceType, 0, g, unixGroupSid(gid), {}});
    uint32_t o = accessMaskFromPosix(mode, directory);
    if (o) dacl.aces.push_back({kAccessAllowedAceType, 0, o, everyoneSid(), {}});
    sd.dacl = std::move(dacl);
  }
  return sd;
}

Sid authenticatedUsersSid() { return makeSid(5, {11}); }
Sid creatorGroupSid() { return makeSid(3, {1}); }

// MS-DTYP 2.4.3 ACCESS_MASK generic rights.
constexpr uint32_t kGenericAll = 0x10000000, kGenericExecute = 0x20000000, kGenericWrite = 0x40000000,
                   kGenericRead = 0x80000000;
constexpr uint32_t kGenericRights = kGenericAll | kGenericExecute | kGenericWrite | kGenericRead;

uint32_t mapGenericFileRights(uint32_t m) {
  if (m & kGenericAll) m = (m & ~kGenericAll) | kFileAllAccess;
  if (m & kGenericRead) m = (m & ~kGenericRead) | kFileGenericRead;
  if (m & kGenericWrite) m = (m & ~kGenericWrite) | kFileGenericWrite;
  if (m & kGenericExecute) m = (m & ~kGenericExecute) | kFileGenericExecute;
  return m;
}

bool hasNullDacl(const SecurityDescriptor& sd) { return !sd.dacl; }

uint32_t grantedAccess(const SecurityDescriptor& sd, const std::vector<Sid>& token) {
  auto holds = [&](const Sid& s) {
    for (const auto& t : token)
      if (t == s) return true;
    return false;
  };
  if (!sd.dacl) return kFileAllAccess;
  uint32_t granted = 0, denied = 0;
  for (const auto& ace : sd.dacl->aces) {
    if (ace.flags & kInheritOnlyAce) continue;
    if (ace.type != kAccessAllowedAceType && ace.type != kAccessDeniedAceType) continue;
    if (!holds(ace.sid)) continue;
    uint32_t m = mapGenericFileRights(ace.mask);
    if (ace.type == kAccessAllowedAceType) granted |= m & ~denied;
    else denied |= m & ~granted;
  }
  if (sd.owner && holds(*sd.owner)) granted |= kReadControl | kWriteDac;
  return granted;
}

// The control bits that describe the DACL and the SACL.
constexpr uint16_t kDaclBits = kSeDaclPresent | kSeDaclDefaulted | kSeDaclAutoInherited | kSeDaclProtected;
constexpr uint16_t kSaclBits = kSeSaclPresent | kSeSaclDefaulted | kSeSaclAutoInherited | kSeSaclProtected;

SecurityDescriptor selectSecurityInformation(const SecurityDescriptor& sd, uint32_t info) {
  SecurityDescriptor out;
  out.revision = sd.revision;
  out.control = uint16_t(sd.control & ~(kSeDaclPresent | kSeSaclPresent | kSeOwnerDefaulted |
                                        kSeGroupDefaulted | kSeDaclDefaulted | kSeSaclDefaulted |
                                        kSeDaclAutoInherited | kSeSaclAutoInherited |
                                        kSeDaclProtected | kSeSaclProtected));
  if (info & kOwnerSecurityInformation) {
    out.owner = sd.owner;
    out.control |= sd.control & kSeOwnerDefaulted;
  }
  if (info & kGroupSecurityInformation) {
    out.group = sd.group;
    out.control |= sd.control & kSeGroupDefaulted;
  }
  if (info & kDaclSecurityInformation) {
    out.dacl = sd.dacl;
    out.control |= sd.control & kDaclBits;
  }
  if (info & kSaclSecurityInformation) {
    out.sacl = sd.sacl;
    out.control |= sd.control & kSaclBits;
  }
  return out;
}

// The control bits of one ACL as SET_INFO stores them: the request bit (AUTO_INHERIT_REQ)
// never, AUTO_INHERITED only when the request bit came with it.
static uint16_t storedAclBits(uint16_t control, uint16_t bits, uint16_t req, uint16_t auto_inherited) {
  uint16_t out = control & bits;
  if (!(control & req)) out &= uint16_t(~auto_inherited);
  return out;
}

SecurityDescriptor mergeSecurityDescriptor(const SecurityDescriptor& current,
                                           const SecurityDescriptor& update, uint32_t info) {
  SecurityDescriptor out = current;
  out.control |= kSeSelfRelative;
  if ((info & kOwnerSecurityInformation) && update.owner) {
    out.owner = update.owner;
    out.control = uint16_t((out.control & ~kSeOwnerDefaulted) | (update.control & kSeOwnerDefaulted));
  }
  if ((info & kGroupSecurityInformation) && update.group) {
    out.group = update.group;
    out.control = uint16_t((out.control & ~kSeGroupDefaulted) | (update.control & kSeGroupDefaulted));
  }
  if (info & kDaclSecurityInformation) {
    out.dacl = (update.control & kSeDaclPresent) ? update.dacl : std::nullopt;
    // Generic rights are stored mapped to the file rights in the ACEs that apply to the object
    // itself, as Windows and Samba store them; inherit-only ACEs keep them for the children.
    if (out.dacl)
      for (auto& ace : out.dacl->aces)
        if (!(ace.flags & kInheritOnlyAce)) ace.mask = mapGenericFileRights(ace.mask);
    out.control = uint16_t((out.control & ~kDaclBits) |
                           storedAclBits(update.control, kDaclBits, kSeDaclAutoInheritReq,
                                         kSeDaclAutoInherited) |
                           kSeDaclPresent);
  }
  if (info & kSaclSecurityInformation) {
    out.sacl = (update.control & kSeSaclPresent) ? update.sacl : std::nullopt;
    out.control = uint16_t((out.control & ~kSaclBits) |
                           storedAclBits(update.control, kSaclBits, kSeSaclAutoInheritReq,
                                         kSeSaclAutoInherited) |
                           kSeSaclPresent);
  }
  return out;
}

std::optional<Acl> inheritedDacl(const SecurityDescriptor& parent, bool directory, const Sid& owner,
                                 const Sid& group) {
  if (!parent.dacl) return std::nullopt;
  // INHERITED_ACE marks the copies only under automatic inheritance, i.e. when the parent's
  // DACL is AUTO_INHERITED (smbtorture smb2.acls.INHERITFLAGS).
  const uint8_t inherited = (parent.control & kSeDaclAutoInherited) ? kInheritedAce : 0;
  const Sid creator_owner_sid = creatorOwnerSid(), creator_group_sid = creatorGroupSid();
  Acl out;
  out.revision = parent.dacl->revision;
  for (const auto& ace : parent.dacl->aces) {
    const bool oi = ace.flags & kObjectInheritAce, ci = ace.flags & kContainerInheritAce;
    const bool np = ace.flags & kNoPropagateInheritAce;
    const uint8_t audit = ace.flags & 0xC0;
    // Applies to the new object itself: a file takes OBJECT_INHERIT ACEs, a directory
    // CONTAINER_INHERIT ones. Passed on to its children: a directory's, unless NO_PROPAGATE.
    const bool effective = directory ? ci : oi;
    const bool passed_on = directory && !np && (oi || ci);
    if (!effective && !passed_on) continue;
    const bool creator_owner = ace.sid == creator_owner_sid, creator_group = ace.sid == creator_group_sid;
    // The copy for the object itself names the real owner/group and holds mapped rights. When
    // that changes the ACE, or when it is not passed on, it carries no inheritance flags, and an
    // inherit-only copy with the original SID and rights follows for the children (MS-DTYP
    // 2.5.3.4.2; smbtorture smb2.acls.INHERITANCE).
    const bool split = creator_owner || creator_group || (ace.mask & kGenericRights);
    if (effective) {
      Ace a = ace;
      if (creator_owner) a.sid = owner;
      else if (creator_group) a.sid = group;
      a.mask = mapGenericFileRights(ace.mask);
      uint8_t keep = passed_on && !split ? uint8_t(ace.flags & (kObjectInheritAce | kContainerInheritAce)) : 0;
      a.flags = uint8_t(keep | inherited | audit);
      out.aces.push_back(std::move(a));
    }
    if (passed_on && (!effective || split)) {
      Ace a = ace;
      a.flags = uint8_t((ace.flags & (kObjectInheritAce | kContainerInheritAce)) | kInheritOnlyAce |
                        inherited | audit);
      out.aces.push_back(std::move(a));
    }
  }
  if (out.aces.empty()) return std::nullopt;
  return out;
}

Bytes securityDescriptorFromPosix(uint32_t uid, uint32_t gid, uint32_t mode, bool directory,
                                  uint32_t security_information) {
  return encodeSecurityDescriptor(
      posixSecurityDescriptor(uid, gid, mode, directory, security_information));
}

}  // namespace sd::fscc
