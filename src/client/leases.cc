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
namespace {

// The granted lease in a CREATE response under `key` (masked by `want`), and the durable answer.
void readLeaseAnswer(const std::string& path, const smb2::CreateResponse& r, const smb2::LeaseKey& key,
                     uint32_t want, SmbClient::LeasedOpen& out) {
  out.oplock_level = r.oplock_level;
  if (auto d = smb2::decodeDurableResponse(r.decoded_contexts); d && (d->v1 || d->v2)) {
    out.durable = true;
    out.durable_timeout_ms = d->timeout_ms;
  }
  if (r.oplock_level != smb2::kOplockLevelLease) return;
  for (const auto& c : r.decoded_contexts) {
    if (c.name != smb2::kCreateRequestLease) continue;
    auto g = smb2::decodeLeaseContext(c.data);
    if (!g || g->lease_key != key) {
      // Not ours to cache under: keep the open, trust no lease.
      LOG_WARN("%s: lease response context %s", path.c_str(), g ? "for another key" : "malformed");
      return;
    }
    out.lease_state = g->lease_state & want;
    out.epoch = g->epoch;
  }
}

// The RqLs context of a lease v2 request (every dialect we speak is 3.x).
smb2::CreateContextOut leaseContext(const smb2::LeaseKey& key, uint32_t want, const smb2::LeaseKey* parent = nullptr) {
  smb2::LeaseContext c;
  c.v2 = true;
  c.lease_key = key;
  c.lease_state = want;
  if (parent) {
    c.lease_flags = smb2::kLeaseFlagParentLeaseKeySet;
    c.parent_lease_key = *parent;
  }
  return {smb2::kCreateRequestLease, smb2::encodeLeaseContext(c)};
}

}  // namespace

Result<SmbClient::LeasedOpen> SmbClient::openLeased(const std::string& path, uint32_t access,
                                                    uint32_t disposition, uint32_t options,
                                                    const smb2::LeaseKey& key, uint32_t want, uint32_t share,
                                                    const smb2::DurableRequestV2* durable, const smb2::LeaseKey* parent) {
  smb2::CreateRequest q = createRequest(path, access, disposition, options, share);
  std::vector<smb2::CreateContextOut> ctxs;
  bool lease = leasesSupported() && want;
  if (lease) {
    q.requested_oplock_level = smb2::kOplockLevelLease;
    ctxs.push_back(leaseContext(key, want, parent));
    startIdleReceiver();
  }
  if (durable) ctxs.push_back(smb2::makeDurableRequestV2(*durable));
  auto m = SD_TRY(transact(smb2::Command::kCreate, [&](ByteWriter& w) { smb2::encodeCreateRequest(q, ctxs, w); }));
  auto r = SD_TRY(smb2::decodeCreateResponse(m));
  LeasedOpen out;
  out.id = r.file_id;
  if (lease) readLeaseAnswer(path, r, key, want, out);
  if (out.lease_state) leases_granted_.fetch_add(1, std::memory_order_relaxed);
  return out;
}

Result<SmbClient::LeasedOpen> SmbClient::reopenDurable(const std::string& path, const smb2::FileId& id,
                                                       const smb2::CreateGuid& create_guid,
                                                       const smb2::LeaseKey* key) {
  // MS-SMB2 3.2.4.4: the request's other fields are the open's; the server looks at the
  // context, the name (for a lease) and the lease key only.
  smb2::CreateRequest q = createRequest(path, 0, smb2::kFileOpen, 0, 7);
  std::vector<smb2::CreateContextOut> ctxs;
  smb2::DurableReconnectV2 dc;
  dc.file_id = id;
  dc.create_guid = create_guid;
  ctxs.push_back(smb2::makeDurableReconnectV2(dc));
  if (key) {
    q.requested_oplock_level = smb2::kOplockLevelLease;
    ctxs.push_back(leaseContext(*key, smb2::kLeaseRead | smb2::kLeaseHandle | smb2::kLeaseWrite));
    startIdleReceiver();
  }
  auto m = SD_TRY(transact(smb2::Command::kCreate, [&](ByteWriter& w) { smb2::encodeCreateRequest(q, ctxs, w); }));
  auto r = SD_TRY(smb2::decodeCreateResponse(m));
  LeasedOpen out;
  out.id = r.file_id;
  out.durable = true;  // a reconnected open stays durable (no response context says so)
  if (key) readLeaseAnswer(path, r, *key, ~0u, out);
  else out.oplock_level = r.oplock_level;
  return out;
}

Result<SmbClient::OplockOpen> SmbClient::openWithOplock(const std::string& path, uint32_t access,
                                                        uint32_t disposition, uint32_t options,
                                                        uint8_t level, uint32_t share,
                                                        const smb2::DurableRequestV2* durable, bool* durable_granted) {
  smb2::CreateRequest q = createRequest(path, access, disposition, options, share);
  q.requested_oplock_level = level;
  std::vector<smb2::CreateContextOut> ctxs;
  if (durable) ctxs.push_back(smb2::makeDurableRequestV2(*durable));
  auto m = SD_TRY(transact(smb2::Command::kCreate, [&](ByteWriter& w) { smb2::encodeCreateRequest(q, ctxs, w); }));
  auto r = SD_TRY(smb2::decodeCreateResponse(m));
  if (durable_granted) {
    auto d = smb2::decodeDurableResponse(r.decoded_contexts);
    *durable_granted = d && (d->v1 || d->v2);
  }
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
