// Leases and oplocks (MS-SMB2 3.2.4.3.8, 3.2.5.19): opens that ask for them, the break
// handlers the owner (the mount) sets, the notifications the receiver hands to them, and the
// acknowledgments.
#include "base/log.h"
#include "client/smb_client.h"
#include "smb2/oplock_break.h"

namespace sd::client {

// CREATE with a lease v2 request context (MS-SMB2 2.2.13.2.10; the 3.x client sends v2,
// 3.2.4.3.8): the granted state comes back in the RqLs response context (2.2.14.2.11) with
// OplockLevel SMB2_OPLOCK_LEVEL_LEASE; a server without leases answers with neither.
Result<SmbClient::LeasedOpen> SmbClient::openLeased(const std::string& path, uint32_t access,
                                                    uint32_t disposition, uint32_t options,
                                                    const smb2::LeaseKey& key, uint32_t want, uint32_t share,
                                                    const smb2::LeaseKey* parent) {
  smb2::CreateRequest q = createRequest(path, access, disposition, options, share);
  std::vector<smb2::CreateContextOut> ctxs;
  bool lease = leasesSupported() && want;
  if (lease) {
    q.requested_oplock_level = smb2::kOplockLevelLease;
    smb2::LeaseContext c;
    c.v2 = true;
    c.lease_key = key;
    c.lease_state = want;
    if (parent) {
      c.lease_flags = smb2::kLeaseFlagParentLeaseKeySet;
      c.parent_lease_key = *parent;
    }
    ctxs.push_back({smb2::kCreateRequestLease, smb2::encodeLeaseContext(c)});
    startIdleReceiver();
  }
  auto m = SD_TRY(transact(smb2::Command::kCreate, [&](ByteWriter& w) { smb2::encodeCreateRequest(q, ctxs, w); }));
  auto r = SD_TRY(smb2::decodeCreateResponse(m));
  LeasedOpen out;
  out.id = r.file_id;
  if (lease && r.oplock_level == smb2::kOplockLevelLease) {
    for (const auto& c : r.decoded_contexts) {
      if (c.name != smb2::kCreateRequestLease) continue;
      auto g = smb2::decodeLeaseContext(c.data);
      if (!g || g->lease_key != key) {
        // Not ours to cache under: keep the open, trust no lease.
        LOG_WARN("%s: lease response context %s", path.c_str(), g ? "for another key" : "malformed");
        break;
      }
      out.lease_state = g->lease_state & want;
      out.epoch = g->epoch;
      if (out.lease_state) leases_granted_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return out;
}

Result<SmbClient::OplockOpen> SmbClient::openWithOplock(const std::string& path, uint32_t access,
                                                        uint32_t disposition, uint32_t options,
                                                        uint8_t level, uint32_t share) {
  smb2::CreateRequest q = createRequest(path, access, disposition, options, share);
  q.requested_oplock_level = level;
  auto m = SD_TRY(transact(smb2::Command::kCreate, [&](ByteWriter& w) { smb2::encodeCreateRequest(q, {}, w); }));
  auto r = SD_TRY(smb2::decodeCreateResponse(m));
  return OplockOpen{r.file_id, r.oplock_level};
}

void SmbClient::setOplockBreakHandler(std::function<void(const smb2::FileId&, uint8_t)> handler) {
  if (!handler) stopIdleReceiver();
  {
    std::lock_guard<std::mutex> lk(idle_mu_);
    oplock_break_handler_ = std::move(handler);
  }
  if (oplock_break_handler_ && transport_) startIdleReceiver();
}

Result<uint8_t> SmbClient::ackOplockBreak(const smb2::FileId& f, uint8_t level) {
  auto m = SD_TRY(transact(smb2::Command::kOplockBreak, [&](ByteWriter& w) { smb2::encodeOplockBreak(level, f, w); }));
  auto r = SD_TRY(smb2::decodeOplockBreakAcknowledgment(m));  // the response: same layout (2.2.25.1)
  return r.oplock_level;
}

void SmbClient::setLeaseBreakHandler(std::function<void(const LeaseBreak&)> handler) {
  // No handler: the idle receiver stops first, so that it calls no handler being destroyed.
  if (!handler) stopIdleReceiver();
  {
    std::lock_guard<std::mutex> lk(idle_mu_);
    break_handler_ = std::move(handler);
  }
  // From now on a break may come at any time: read the line while idle.
  if (break_handler_ && transport_) startIdleReceiver();
}

Status SmbClient::ackLeaseBreak(const smb2::LeaseKey& key, uint32_t lease_state) {
  smb2::LeaseBreakAck a;
  a.lease_key = key;
  a.lease_state = lease_state;
  auto m = transact(smb2::Command::kOplockBreak, [&](ByteWriter& w) { smb2::encodeLeaseBreakAck(a, w); });
  if (!m) return m.error();
  auto r = smb2::decodeLeaseBreakAck(*m);  // the Lease Break Response, MS-SMB2 2.2.25.2
  if (!r) return r.error();
  breaks_acked_.fetch_add(1, std::memory_order_relaxed);
  return ok();
}

void SmbClient::onUnsolicited(const Bytes& m) {
  auto size = smb2::oplockBreakStructureSize(m);
  if (!size || *size != smb2::kLeaseBreakNotificationSize) {
    // An oplock break (2.2.23.1): the level this client may keep.
    auto n = smb2::decodeOplockBreakAcknowledgment(m);  // the same layout
    if (n && oplock_break_handler_) {
      breaks_received_.fetch_add(1, std::memory_order_relaxed);
      oplock_break_handler_(n->file_id, n->oplock_level);
    } else {
      LOG_WARN("ignoring an unsolicited OPLOCK_BREAK (%s)", n ? "no oplock handler" : n.error().what);
    }
    return;
  }
  auto n = smb2::decodeLeaseBreakNotification(m);
  if (!n) {
    LOG_WARN("malformed lease break notification: %s", n.error().what);
    return;
  }
  breaks_received_.fetch_add(1, std::memory_order_relaxed);
  LeaseBreak b;
  b.key = n->lease_key;
  b.current_state = n->current_lease_state;
  b.new_state = n->new_lease_state;
  b.new_epoch = n->new_epoch;
  b.ack_required = n->flags & smb2::kNotifyBreakLeaseFlagAckRequired;
  // break_handler_ is set before the idle receiver starts and before any leased open, and
  // never changed after: read without a lock.
  if (break_handler_) break_handler_(b);
  else LOG_WARN("lease break %s -> %s with no handler", smb2::leaseStateText(b.current_state).c_str(),
                smb2::leaseStateText(b.new_state).c_str());
}

}  // namespace sd::client
