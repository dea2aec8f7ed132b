// MS-DTYP security structures carried by SMB2 QUERY_INFO/SET_INFO with InfoType
// SMB2_0_INFO_SECURITY: SID (MS-DTYP 2.4.2, binary and "S-1-..." string forms), ACE (2.4.4),
// ACL (2.4.5) and the self-relative SECURITY_DESCRIPTOR (2.4.6), plus a builder that maps a POSIX
// owner/group/mode to a descriptor the way Samba's unix-id mapping does (S-1-22-1-uid,
// S-1-22-2-gid, Everyone). Owned by fscc/; pure functions, any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace sd::fscc {

// MS-DTYP 2.4.7 SECURITY_INFORMATION (SMB2 AdditionalInformation for security queries).
inline constexpr uint32_t kOwnerSecurityInformation = 0x00000001;
inline constexpr uint32_t kGroupSecurityInformation = 0x00000002;
inline constexpr uint32_t kDaclSecurityInformation = 0x00000004;
inline constexpr uint32_t kSaclSecurityInformation = 0x00000008;
inline constexpr uint32_t kLabelSecurityInformation = 0x00000010;

// MS-DTYP 2.4.6 SECURITY_DESCRIPTOR Control.
inline constexpr uint16_t kSeOwnerDefaulted = 0x0001;
inline constexpr uint16_t kSeGroupDefaulted = 0x0002;
inline constexpr uint16_t kSeDaclPresent = 0x0004;
inline constexpr uint16_t kSeDaclDefaulted = 0x0008;
inline constexpr uint16_t kSeSaclPresent = 0x0010;
inline constexpr uint16_t kSeSaclDefaulted = 0x0020;
inline constexpr uint16_t kSeDaclAutoInheritReq = 0x0100;
inline constexpr uint16_t kSeSaclAutoInheritReq = 0x0200;
inline constexpr uint16_t kSeDaclAutoInherited = 0x0400;
inline constexpr uint16_t kSeSaclAutoInherited = 0x0800;
inline constexpr uint16_t kSeDaclProtected = 0x1000;
inline constexpr uint16_t kSeSaclProtected = 0x2000;
inline constexpr uint16_t kSeSelfRelative = 0x8000;

// MS-DTYP 2.4.4.1 ACE_HEADER AceType / AceFlags.
inline constexpr uint8_t kAccessAllowedAceType = 0x00;
inline constexpr uint8_t kAccessDeniedAceType = 0x01;
inline constexpr uint8_t kSystemAuditAceType = 0x02;
inline constexpr uint8_t kSystemMandatoryLabelAceType = 0x11;
inline constexpr uint8_t kObjectInheritAce = 0x01;
inline constexpr uint8_t kContainerInheritAce = 0x02;
inline constexpr uint8_t kNoPropagateInheritAce = 0x04;
inline constexpr uint8_t kInheritOnlyAce = 0x08;
inline constexpr uint8_t kInheritedAce = 0x10;

// MS-DTYP 2.4.3 ACCESS_MASK and the file-specific rights of MS-SMB2 2.2.13.1.1.
inline constexpr uint32_t kFileReadData = 0x00000001;
inline constexpr uint32_t kFileWriteData = 0x00000002;
inline constexpr uint32_t kFileAppendData = 0x00000004;
inline constexpr uint32_t kFileReadEa = 0x00000008;
inline constexpr uint32_t kFileWriteEa = 0x00000010;
inline constexpr uint32_t kFileExecute = 0x00000020;
inline constexpr uint32_t kFileDeleteChild = 0x00000040;
inline constexpr uint32_t kFileReadAttributes = 0x00000080;
inline constexpr uint32_t kFileWriteAttributes = 0x00000100;
inline constexpr uint32_t kDelete = 0x00010000;
inline constexpr uint32_t kReadControl = 0x00020000;
inline constexpr uint32_t kWriteDac = 0x00040000;
inline constexpr uint32_t kWriteOwner = 0x00080000;
inline constexpr uint32_t kSynchronize = 0x00100000;
inline constexpr uint32_t kFileGenericRead = 0x00120089;
inline constexpr uint32_t kFileGenericWrite = 0x00120116;
inline constexpr uint32_t kFileGenericExecute = 0x001200A0;
inline constexpr uint32_t kFileAllAccess = 0x001F01FF;

// MS-DTYP 2.4.2.2 SID: Revision (1), SubAuthorityCount (1), IdentifierAuthority (6, big-endian),
// SubAuthority (4 each, little-endian; at most 15).
struct Sid {
  uint8_t revision = 1;
  uint64_t identifier_authority = 0;  // 48 bits
  std::vector<uint32_t> sub_authority;
  bool operator==(const Sid&) const = default;
  size_t size() const { return 8 + 4 * sub_authority.size(); }
};
inline constexpr size_t kSidMaxSubAuthorities = 15;

Sid makeSid(uint64_t authority, std::vector<uint32_t> subs);
// MS-DTYP 2.4.2.1 string form: "S-1-5-21-1-2-3"; authorities >= 2^32 are printed in hex.
std::string sidToString(const Sid& sid);
Result<Sid> parseSid(std::string_view s);
void encodeSid(ByteWriter& w, const Sid& sid);
Bytes encodeSid(const Sid& sid);
// Reads one SID at the reader's position (bounded).
Result<Sid> decodeSid(ByteReader& r);
Result<Sid> decodeSid(ByteView in);

// Well-known SIDs.
Sid everyoneSid();                 // S-1-1-0
Sid creatorOwnerSid();             // S-1-3-0
Sid unixUserSid(uint32_t uid);     // S-1-22-1-uid (Samba)
Sid unixGroupSid(uint32_t gid);    // S-1-22-2-gid (Samba)
// The uid of S-1-22-1-uid, the gid of S-1-22-2-gid; nothing for any other SID.
std::optional<uint32_t> uidOfUnixSid(const Sid& sid);
std::optional<uint32_t> gidOfUnixSid(const Sid& sid);

// MS-DTYP 2.4.4 ACE. Types ACCESS_ALLOWED/DENIED/SYSTEM_AUDIT/SYSTEM_MANDATORY_LABEL are
// decoded into mask + sid (+ any trailing application data in `extra`); for other types `mask`
// is the first 4 body bytes when present and `extra` holds the rest of the body verbatim.
struct Ace {
  uint8_t type = kAccessAllowedAceType;
  uint8_t flags = 0;
  uint32_t mask = 0;
  Sid sid;
  Bytes extra;
  bool operator==(const Ace&) const = default;
};

// MS-DTYP 2.4.5 ACL: AclRevision (1), Sbz1 (1), AclSize (2), AceCount (2), Sbz2 (2), ACEs.
struct Acl {
  uint8_t revision = 2;  // ACL_REVISION; 4 (ACL_REVISION_DS) for object ACEs
  std::vector<Ace> aces;
  bool operator==(const Acl&) const = default;
};
void encodeAcl(ByteWriter& w, const Acl& acl);
Bytes encodeAcl(const Acl& acl);
Result<Acl> decodeAcl(ByteView in);

// MS-DTYP 2.4.6 SECURITY_DESCRIPTOR in self-relative form.
struct SecurityDescriptor {
  uint8_t revision = 1;
  uint16_t control = kSeSelfRelative;  // Present bits are derived from sacl/dacl when encoding
  std::optional<Sid> owner;
  std::optional<Sid> group;
  std::optional<Acl> sacl;
  std::optional<Acl> dacl;
  bool operator==(const SecurityDescriptor&) const = default;
};
// Writes Revision, Sbz1, Control (with SE_SELF_RELATIVE, and SE_DACL/SACL_PRESENT set when the
// optional holds an ACL or when `control` already has the bit: a present bit with no ACL is a NULL
// ACL, offset 0), the four offsets (0 for an absent part), then Owner, Group, Sacl, Dacl.
Bytes encodeSecurityDescriptor(const SecurityDescriptor& sd);
// Bounded: every non-zero offset must lie inside `in` and its structure must fit; a PRESENT
// bit with offset 0 means a NULL ACL (returned as absent, the bit kept in `control`).
Result<SecurityDescriptor> decodeSecurityDescriptor(ByteView in);

// Maps POSIX rwx bits (0-7) to a file access mask: rwx -> FILE_ALL_ACCESS; otherwise r ->
// FILE_GENERIC_READ, w -> FILE_GENERIC_WRITE (+ FILE_DELETE_CHILD on directories),
// x -> FILE_GENERIC_EXECUTE.
uint32_t accessMaskFromPosix(uint32_t rwx, bool directory);

// The descriptor for a file owned by uid:gid with `mode`: owner S-1-22-1-uid, group
// S-1-22-2-gid, DACL allowing owner / group / Everyone their rwx (owner also DELETE,
// WRITE_DAC, WRITE_OWNER, READ_CONTROL and attribute rights, as POSIX lets an owner chmod,
// unlink-by-rename and read metadata). Only the parts selected by `security_information`
// (OWNER 1, GROUP 2, DACL 4, SACL 8) are included; the others have offset 0. There is never a
// SACL.
SecurityDescriptor posixSecurityDescriptor(uint32_t uid, uint32_t gid, uint32_t mode,
                                           bool directory, uint32_t security_information);
Bytes securityDescriptorFromPosix(uint32_t uid, uint32_t gid, uint32_t mode, bool directory,
                                  uint32_t security_information);

// --- Access control on stored descriptors (MS-DTYP 2.5.3) ---

// Well-known SIDs used by access tokens (MS-DTYP 2.4.2.4).
Sid authenticatedUsersSid();  // S-1-5-11
Sid creatorGroupSid();        // S-1-3-1

// MS-DTYP 2.4.3 generic rights in an ACE mask mapped to the file rights (MS-SMB2 2.2.13.1.1).
uint32_t mapGenericFileRights(uint32_t mask);

// The access a token holds under `sd` (MS-DTYP 2.5.3.2 AccessCheck, simplified: no privileges,
// no object ACEs, no conditional ACEs). `token` lists the caller's SIDs. An absent or NULL DACL
// grants every file right; an empty DACL grants nothing. ACEs are walked in order, INHERIT_ONLY
// ones skipped; a deny ACE removes what is not yet granted. An owner in the token also holds
// READ_CONTROL and WRITE_DAC (MS-DTYP 2.5.3.2 step "owner implicit rights").
uint32_t grantedAccess(const SecurityDescriptor& sd, const std::vector<Sid>& token);

// True when the DACL is NULL or absent (everything allowed).
bool hasNullDacl(const SecurityDescriptor& sd);

// The parts of `sd` selected by SecurityInformation (OWNER/GROUP/DACL/SACL, MS-DTYP 2.4.7); the
// others are left out and their PRESENT bits cleared (what QUERY_INFO returns, MS-SMB2 3.3.5.20.3).
SecurityDescriptor selectSecurityInformation(const SecurityDescriptor& sd, uint32_t security_information);

// SET_INFO (MS-SMB2 3.3.5.21.3, MS-FSA 2.1.5.16): the parts of `update` selected by
// `security_information` replace those of `current`; a selected DACL/SACL that `update` does not
// carry becomes a NULL ACL (PRESENT bit set, no ACL). The DACL/SACL control bits (PROTECTED,
// AUTO_INHERITED, DEFAULTED) follow the part they describe, as Windows stores them: the
// AUTO_INHERIT_REQ request bit is never stored, and AUTO_INHERITED only when the update also set
// AUTO_INHERIT_REQ (smbtorture smb2.acls.INHERITFLAGS). Generic rights in DACL ACEs that are not
// INHERIT_ONLY are stored mapped to the file rights (mapGenericFileRights).
SecurityDescriptor mergeSecurityDescriptor(const SecurityDescriptor& current,
                                           const SecurityDescriptor& update,
                                           uint32_t security_information);

// MS-DTYP 2.5.3.4 CreateSecurityObject, simplified for files: the ACEs of `parent`'s DACL that a
// new file (OBJECT_INHERIT) or directory (CONTAINER_INHERIT for itself; OBJECT/CONTAINER_INHERIT
// without NO_PROPAGATE for its children) inherits. The copy for the object itself names `owner` /
// `group` for CREATOR OWNER / CREATOR GROUP and holds generic rights mapped; where that changed
// the ACE, a directory also gets an inherit-only copy of the original for its children.
// INHERITED_ACE only when the parent's DACL is AUTO_INHERITED. nullopt when the parent passes
// nothing on (then the caller keeps its default DACL).
std::optional<Acl> inheritedDacl(const SecurityDescriptor& parent, bool directory, const Sid& owner,
                                 const Sid& group);

}  // namespace sd::fscc
