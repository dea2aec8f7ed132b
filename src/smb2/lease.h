// Leases (MS-SMB2 2.2.13.2.8, 2.2.13.2.10, 2.2.14.2.10, 2.2.14.2.11: the RqLs create contexts;
// 2.2.23.2, 2.2.24.2, 2.2.25.2: the lease break notification, acknowledgment and response, carried
// by the OPLOCK_BREAK command). Sans-I/O, pure functions; any thread.
//
// The bodies of OPLOCK_BREAK are told apart by StructureSize (2.2.23/2.2.24/2.2.25): 24 for the
// oplock forms, 44 for the lease break notification, 36 for the lease acknowledgment/response.
#pragma once
#include <array>

#include "smb2/header.h"

namespace sd::smb2 {

// Lease states (MS-SMB2 2.2.13.2.8 LeaseState).
constexpr uint32_t kLeaseNone = 0, kLeaseRead = 0x01, kLeaseHandle = 0x02, kLeaseWrite = 0x04;
// Lease flags (2.2.13.2.10 / 2.2.14.2.10 / 2.2.14.2.11).
constexpr uint32_t kLeaseFlagBreakInProgress = 0x02, kLeaseFlagParentLeaseKeySet = 0x04;
// Lease break notification flags (2.2.23.2).
constexpr uint32_t kNotifyBreakLeaseFlagAckRequired = 0x01;
// The MessageId of an unsolicited break notification (2.2.23: 0xFFFFFFFFFFFFFFFF).
constexpr uint64_t kUnsolicitedMessageId = ~0ull;
// StructureSize values of the OPLOCK_BREAK bodies.
constexpr uint16_t kOplockBreakSize = 24, kLeaseBreakNotificationSize = 44, kLeaseBreakAckSize = 36;

using LeaseKey = std::array<uint8_t, 16>;

// MS-SMB2 2.2.13.2.8 (v1, 32 bytes) and 2.2.13.2.10 (v2, 52 bytes): the data of an RqLs request
// context; 2.2.14.2.10 / 2.2.14.2.11: the data of the RqLs response context, same layouts.
// `v2` selects the layout; the v1 layout has no parent key and no epoch.
struct LeaseContext {
  bool v2 = false;
  LeaseKey lease_key{};
  uint32_t lease_state = 0;
  uint32_t lease_flags = 0;
  uint64_t lease_duration = 0;  // reserved: 0
  LeaseKey parent_lease_key{};  // v2 only
  uint16_t epoch = 0;           // v2 only
};
// The context's data bytes (give it the name kCreateRequestLease).
Bytes encodeLeaseContext(const LeaseContext& c);
// Decodes either layout by its length (32: v1, 52: v2; anything else is malformed).
Result<LeaseContext> decodeLeaseContext(ByteView data);

// MS-SMB2 2.2.23.2 (server -> client, MessageId 0xFFFFFFFFFFFFFFFF).
struct LeaseBreakNotification {
  uint16_t new_epoch = 0;
  uint32_t flags = 0;  // kNotifyBreakLeaseFlagAckRequired
  LeaseKey lease_key{};
  uint32_t current_lease_state = 0;
  uint32_t new_lease_state = 0;
  uint32_t break_reason = 0;      // reserved
  uint32_t access_mask_hint = 0;  // reserved
  uint32_t share_mask_hint = 0;   // reserved
};
void encodeLeaseBreakNotification(const LeaseBreakNotification& n, ByteWriter& w);
Result<LeaseBreakNotification> decodeLeaseBreakNotification(ByteView msg);

// MS-SMB2 2.2.24.2 (client -> server) and 2.2.25.2 (server -> client): the same layout.
struct LeaseBreakAck {
  uint32_t flags = 0;  // reserved: 0
  LeaseKey lease_key{};
  uint32_t lease_state = 0;
  uint64_t lease_duration = 0;  // reserved: 0
};
void encodeLeaseBreakAck(const LeaseBreakAck& a, ByteWriter& w);  // also the 2.2.25.2 response
Result<LeaseBreakAck> decodeLeaseBreakAck(ByteView msg);           // also the 2.2.25.2 response

// The StructureSize of an OPLOCK_BREAK body (to choose the decoder), or an error.
Result<uint16_t> oplockBreakStructureSize(ByteView msg);

// "RWH"-style text of a lease state, for logs and the status report.
std::string leaseStateText(uint32_t state);

}  // namespace sd::smb2
