#include "client/smb_client.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <deque>

#include "auth/spnego.h"
#include "base/log.h"
#include "base/text.h"
#include "client/client_internal.h"
#include "client/transport.h"
#include "crypto/random.h"
#include "fscc/fs_info.h"
#include "rpc/srvsvc_client.h"
#include "smb2/cancel.h"
#include "smb2/change_notify.h"
#include "smb2/close.h"
#include "smb2/compound.h"
#include "smb2/constants.h"
#include "smb2/create.h"
#include "smb2/frame.h"
#include "smb2/ioctl.h"
#include "smb2/lease.h"
#include "smb2/oplock_break.h"
#include "smb2/negotiate.h"
#include "smb2/query_directory.h"
#include "smb2/query_info.h"
#include "smb2/read.h"
#include "smb2/security.h"
#include "smb2/session_setup.h"
#include "smb2/set_info.h"
#include "smb2/tree_connect.h"
#include "smb2/write.h"
#include "smbdirect/endpoint.h"
#include "rdma/rdma.h"

namespace sd::client {

using internal::wire;

SmbClient::SmbClient() = default;
SmbClient::~SmbClient() {
  // Wake the idle receiver (a shut down socket reads as closed, a closed endpoint as
  // disconnected) before joining it.
  if (transport_) transport_->shutdown();
  stopIdleReceiver();
  transport_.reset();
}

std::shared_ptr<smbdirect::Endpoint> SmbClient::rdmaEndpoint() const {
  return transport_ ? transport_->endpoint() : nullptr;
}

SmbClient::Pipeline SmbClient::pipeline(uint64_t size, uint32_t negotiated, uint32_t access, uint64_t rdma_in_flight) {
  auto chunkFor = [&](bool rdma) {
    uint32_t limit = ioLimit(rdma, negotiated);
    return opts_.max_io ? std::min(opts_.max_io, limit) : std::min<uint32_t>(limit, 4u << 20);
  };
  Pipeline p;
  p.rdma = useRdma(std::min<uint64_t>(size, opts_.max_io ? opts_.max_io : 4u << 20));
  p.chunk = chunkFor(p.rdma);
  if (!p.rdma) return p;
  const size_t depth = rdma_in_flight ? std::clamp<size_t>(size_t(rdma_in_flight / p.chunk), 2, kDepth) : kDepth;
  p.pool = PageBuffer(depth * size_t(p.chunk));
  auto m = transport_->registerMemory(p.pool.data(), p.pool.size(), access);
  if (!m) {
    // Cannot pin that much (RLIMIT_MEMLOCK, device limits): this transfer goes inline.
    LOG_DEBUG("cannot register %zu bytes for RDMA (%s): sending inline", p.pool.size(), m.error().what);
    p.pool = PageBuffer();
    p.rdma = false;
    p.chunk = chunkFor(false);
    return p;
  }
  p.mr = *m;
  p.depth = depth;
  for (size_t i = 0; i < depth; i++) p.free_slots.push_back(depth - 1 - i);
  return p;
}

bool SmbClient::useRdma(uint64_t len) const {
  return rdmaEndpoint() && !sign_all_ && !encrypt_all_ && len >= opts_.rdma_threshold;
}

uint32_t SmbClient::ioLimit(bool rdma, uint32_t negotiated) const {
  return transport_ ? transport_->ioLimit(rdma, negotiated) : negotiated;
}

namespace {
Bytes descriptorBytes(const void* addr, uint32_t rkey, uint32_t len) {
  ByteWriter w;
  smb2::encodeBufferDescriptors({{uint64_t(uintptr_t(addr)), rkey, len}}, w);
  return w.take();
}
}  // namespace

// The fixed part of a CREATE request (MS-SMB2 2.2.13) as this client sends it.
smb2::CreateRequest SmbClient::createRequest(const std::string& path, uint32_t access, uint32_t disposition,
                                             uint32_t options, uint32_t share) const {
  smb2::CreateRequest q;
  q.impersonation_level = smb2::kImpersonationImpersonation;
  q.desired_access = access;
  q.share_access = share;
  q.create_disposition = disposition;
  q.create_options = options;
  q.name = wire(path);
  return q;
}

Result<smb2::FileId> SmbClient::open(const std::string& path, uint32_t access, uint32_t disposition,
                                     uint32_t options, uint32_t share) {
  return createWithSecurity(path, access, disposition, options, {}, share);
}

// CREATE (MS-SMB2 2.2.13); a non-empty descriptor goes in an SMB2_CREATE_SD_BUFFER context.
Result<smb2::FileId> SmbClient::createWithSecurity(const std::string& path, uint32_t access,
                                                   uint32_t disposition, uint32_t options,
                                                   ByteView descriptor, uint32_t share) {
  smb2::CreateRequest q = createRequest(path, access, disposition, options, share);
  std::vector<smb2::CreateContextOut> ctxs;
  if (!descriptor.empty()) ctxs.push_back({smb2::kCreateSdBuffer, Bytes(descriptor.begin(), descriptor.end())});
  auto m = SD_TRY(transact(smb2::Command::kCreate, [&](ByteWriter& w) { smb2::encodeCreateRequest(q, ctxs, w); }));
  auto r = SD_TRY(smb2::decodeCreateResponse(m));
  return r.file_id;
}

// CREATE with a lease v2 request context (MS-SMB2 2.2.13.2.10; the 3.x client sends v2,
// 3.2.4.3.8): the granted state comes back in the RqLs response context (2.2.14.2.11) with
// OplockLevel SMB2_OPLOCK_LEVEL_LEASE; a server without leases answers with neither.
Result<SmbClient::LeasedOpen> SmbClient::openLeased(const std::string& path, uint32_t access,
                                                    uint32_t disposition, uint32_t options,
                                                    const smb2::LeaseKey& key, uint32_t want, uint32_t share) {
  smb2::CreateRequest q = createRequest(path, access, disposition, options, share);
  std::vector<smb2::CreateContextOut> ctxs;
  bool lease = leasesSupported() && want;
  if (lease) {
    q.requested_oplock_level = smb2::kOplockLevelLease;
    smb2::LeaseContext c;
    c.v2 = true;
    c.lease_key = key;
    c.lease_state = want;
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

Result<Bytes> SmbClient::querySecurity(const smb2::FileId& f, uint32_t security_information) {
  smb2::QueryInfoRequest q;
  q.info_type = smb2::kInfoSecurity;
  q.output_buffer_length = 65536;
  q.additional_information = security_information;
  q.file_id = f;
  auto m = SD_TRY(transact(smb2::Command::kQueryInfo, [&](ByteWriter& w) { smb2::encodeQueryInfoRequest(q, w); }));
  auto r = SD_TRY(smb2::decodeQueryInfoResponse(m));
  return Bytes(r.buffer.begin(), r.buffer.end());
}

Status SmbClient::setSecurity(const smb2::FileId& f, uint32_t security_information, ByteView descriptor) {
  return setInfo(f, smb2::kInfoSecurity, 0, security_information, descriptor);
}

Result<uint64_t> SmbClient::changeNotifySend(const smb2::FileId& dir, uint32_t completion_filter, bool watch_tree,
                                             uint32_t output_length) {
  smb2::ChangeNotifyRequest q;
  q.flags = watch_tree ? smb2::kWatchTree : 0;
  q.output_buffer_length = output_length;
  q.file_id = dir;
  q.completion_filter = completion_filter;
  uint64_t id;
  SD_CHECK(sendRequest(smb2::Command::kChangeNotify, [&](ByteWriter& w) { smb2::encodeChangeNotifyRequest(q, w); },
                       output_length, &id));
  return id;
}

Result<SmbClient::NotifyResult> SmbClient::changeNotifyWait(uint64_t message_id, int timeout_ms) {
  Bytes m;
  {
    std::unique_lock<std::mutex> lk(mu_);
    SD_CHECK(waitUntil(lk, [&] { return early_.count(message_id) != 0; }, timeout_ms));
    auto it = early_.find(message_id);
    Result<Bytes> got = std::move(it->second);
    early_.erase(it);
    if (!got) return got.error();
    m = std::move(*got);
  }
  NotifyResult out;
  out.status = NtStatus(le32(m.data() + smb2::kOffStatus));
  if (out.status == NtStatus::kSuccess) {
    auto resp = SD_TRY(smb2::decodeChangeNotifyResponse(m));
    out.changes = SD_TRY(fscc::decodeNotifyInformation(resp.buffer));
  }
  return out;
}

Status SmbClient::close(const smb2::FileId& f) {
  auto m = transact(smb2::Command::kClose, [&](ByteWriter& w) { smb2::encodeCloseRequest({0, f}, w); });
  return m ? ok() : Status(m.error());
}

Result<std::vector<fscc::FileInfo>> SmbClient::list(const std::string& dir, const std::string& pattern) {
  auto f = SD_TRY(open(dir, smb2::kFileListDirectory | smb2::kFileReadAttributes | smb2::kSynchronize,
                       smb2::kFileOpen, smb2::kFileDirectoryFile));
  std::vector<fscc::FileInfo> out;
  Status result = ok();
  for (int guard = 0; guard < 100000; guard++) {
    smb2::QueryDirectoryRequest q;
    q.file_information_class = fscc::kFileIdBothDirectoryInformation;
    q.file_id = f;
    q.file_name = pattern;
    q.output_buffer_length = std::min<uint32_t>(info_.max_transact, 1 << 20);
    auto m = transact(smb2::Command::kQueryDirectory,
                      [&](ByteWriter& w) { smb2::encodeQueryDirectoryRequest(q, w); },
                      q.output_buffer_length);  // CreditCharge covers the response size
    if (!m) {
      if (m.status() != NtStatus::kNoMoreFiles && m.status() != NtStatus::kNoSuchFile) result = m.error();
      break;
    }
    auto r = smb2::decodeQueryDirectoryResponse(*m);
    if (!r) { result = r.error(); break; }
    auto entries = fscc::decodeDirectoryEntries(q.file_information_class, r->buffer);
    if (!entries) { result = entries.error(); break; }
    for (auto& e : *entries) out.push_back(std::move(e));
  }
  (void)close(f);
  if (!result) return result.error();
  return out;
}

Result<fscc::FileInfo> SmbClient::stat(const std::string& path) {
  // CREATE + QUERY_INFO + CLOSE in one round trip, as Windows and Linux clients do.
  smb2::CreateRequest cq = createRequest(path, smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileOpen, 0, 7);
  smb2::FileId related{~0ull, ~0ull};  // "the file of the previous request" (MS-SMB2 3.2.4.1.4)
  smb2::QueryInfoRequest q;
  q.info_type = smb2::kInfoFile;
  q.file_info_class = fscc::kFileNetworkOpenInformation;
  q.output_buffer_length = 4096;
  q.file_id = related;
  auto rs = SD_TRY(compound({
      {smb2::Command::kCreate, [&](ByteWriter& w) { smb2::encodeCreateRequest(cq, {}, w); }},
      {smb2::Command::kQueryInfo, [&](ByteWriter& w) { smb2::encodeQueryInfoRequest(q, w); }},
      {smb2::Command::kClose, [&](ByteWriter& w) { smb2::encodeCloseRequest({0, related}, w); }},
  }));
  uint32_t st0 = le32(rs[0].data() + smb2::kOffStatus);
  if (st0) return err(NtStatus(st0), "CREATE");
  uint32_t st1 = le32(rs[1].data() + smb2::kOffStatus);
  if (st1) return err(NtStatus(st1), "QUERY_INFO");
  auto r = SD_TRY(smb2::decodeQueryInfoResponse(rs[1]));
  auto n = SD_TRY(fscc::decodeFileNetworkOpenInformation(r.buffer));
  fscc::FileInfo fi;
  auto slash = path.find_last_of("/\\");
  fi.name = slash == std::string::npos ? path : path.substr(slash + 1);
  fi.creation_time = n.creation_time;
  fi.last_access_time = n.last_access_time;
  fi.last_write_time = n.last_write_time;
  fi.change_time = n.change_time;
  fi.allocation_size = n.allocation_size;
  fi.end_of_file = n.end_of_file;
  fi.file_attributes = n.file_attributes;
  fi.directory = n.file_attributes & smb2::kFileAttributeDirectory;
  return fi;
}

Status SmbClient::download(const std::string& path, const std::function<Status(ByteView)>& sink,
                           const std::function<void(uint64_t)>& progress) {
  auto st = SD_TRY(stat(path));
  if (st.directory) return err(NtStatus::kFileIsADirectory, "is a directory");
  auto f = SD_TRY(open(path, smb2::kFileReadData | smb2::kFileReadAttributes | smb2::kSynchronize,
                       smb2::kFileOpen, smb2::kFileNonDirectoryFile, smb2::kFileShareRead | smb2::kFileShareWrite));
  auto pl = pipeline(st.end_of_file, info_.max_read, rdma::kAccessLocalWrite | rdma::kAccessRemoteWrite,
                     kRdmaReadAhead);
  const bool rd = pl.rdma;
  const uint32_t chunk = pl.chunk;
  uint64_t size = st.end_of_file, next = 0, done = 0;
  struct Inflight { uint64_t id, offset; uint32_t length; size_t slot; };
  std::deque<Inflight> inflight;
  Status result = ok();
  // Keep up to pl.depth reads (or what the credits allow) in flight; responses arrive in order
  // here, and receiveResponse parks any that overtake.
  while (result && (next < size || !inflight.empty())) {
    uint32_t charge = (chunk - 1) / 65536 + 1;
    while (next < size && inflight.size() < pl.depth && (inflight.empty() || credits_ >= charge)) {
      smb2::ReadRequest q;
      q.length = uint32_t(std::min<uint64_t>(chunk, size - next));
      q.offset = next;
      q.file_id = f;
      size_t slot = 0;
      Bytes desc;
      if (rd) {
        slot = pl.free_slots.back();
        pl.free_slots.pop_back();
        desc = descriptorBytes(pl.slot(slot), pl.mr->rkey(), q.length);
        q.channel = smb2::kChannelRdmaV1;
        q.read_channel_info = desc;
      }
      uint64_t id;
      result = sendRequest(smb2::Command::kRead, [&](ByteWriter& w) { smb2::encodeReadRequest(q, w); }, q.length, &id);
      if (!result) break;
      inflight.push_back({id, next, q.length, slot});
      next += q.length;
    }
    if (!result || inflight.empty()) break;
    Inflight cur = inflight.front();
    inflight.pop_front();
    auto m = receiveResponse(cur.id);
    if (rd) pl.free_slots.push_back(cur.slot);
    if (!m) { result = m.error(); break; }
    uint32_t s = le32(m->data() + smb2::kOffStatus);
    if (s == toWire(NtStatus::kEndOfFile)) { size = cur.offset; break; }
    if (s) { result = err(NtStatus(s), "read"); break; }
    auto r = smb2::decodeReadResponse(*m);
    if (!r) { result = r.error(); break; }
    ByteView data = r->data;
    if (rd) {
      // MS-SMB2 3.3.5.12: DataLength 0, DataRemaining = the bytes placed by RDMA Write.
      if (!r->data.empty() || r->data_remaining > cur.length) {
        result = fatal(NtStatus::kInvalidNetworkResponse, "RDMA read response out of bounds");
        break;
      }
      data = ByteView(pl.slot(cur.slot), r->data_remaining);
      countRdma(true, data.size());
    }
    result = sink(data);
    done += data.size();
    if (progress) progress(data.size());
    if (data.empty()) break;
  }
  // Drain what is still in flight before closing (and before the slots are unregistered).
  for (auto& x : inflight) (void)receiveResponse(x.id);
  Status c = close(f);
  if (!result) return result;
  return c;
}

// Up to kDepth WRITEs in flight (as the credits allow), each with what `next` gives for its
// offset: inline bytes, or (rkey != 0) bytes the server pulls by RDMA Read. `done` is told when a
// WRITE's response came (its memory may be reused). Stops at the end of the data (an empty
// piece), at the first short WRITE or at the first error; every response is collected.
Result<uint64_t> SmbClient::writeWindow(const smb2::FileId& f, uint64_t offset, uint64_t size, uint32_t chunk,
                                        const std::function<Result<WritePiece>(uint64_t, uint64_t)>& next,
                                        const std::function<void(const WritePiece&)>& done,
                                        const std::function<void(uint64_t)>& progress, Status* stopped_by) {
  struct Inflight {
    uint64_t id;
    WritePiece piece;
  };
  std::deque<Inflight> inflight;
  uint64_t sent = 0, written = 0;
  bool more = true, short_write = false;
  Status result = ok();
  while (result && ((more && sent < size) || !inflight.empty())) {
    while (result && more && sent < size && inflight.size() < kDepth) {
      uint32_t charge = uint32_t((std::min<uint64_t>(chunk, size - sent) - 1) / 65536 + 1);
      if (!inflight.empty() && credits_ < charge) break;  // a response returns credits first
      auto piece = next(offset + sent, std::min<uint64_t>(chunk, size - sent));
      if (!piece) {
        result = piece.error();
        break;
      }
      if (piece->data.empty()) {
        more = false;
        break;
      }
      smb2::WriteRequest q;
      q.offset = offset + sent;
      q.file_id = f;
      uint64_t id;
      const uint32_t len = uint32_t(piece->data.size());
      if (piece->rkey) {
        Bytes desc = descriptorBytes(piece->data.data(), piece->rkey, len);
        q.channel = smb2::kChannelRdmaV1;
        q.remaining_bytes = len;
        q.write_channel_info = desc;
        result = sendRequest(smb2::Command::kWrite, [&](ByteWriter& w) { smb2::encodeWriteRequestHeader(q, 0, w); },
                             len, &id);
      } else {
        result = sendRequest(smb2::Command::kWrite,
                             [&](ByteWriter& w) { smb2::encodeWriteRequestHeader(q, len, w); }, len, &id,
                             piece->data);
      }
      if (!result) {
        done(*piece);
        break;
      }
      inflight.push_back({id, *piece});
      sent += len;
    }
    if (inflight.empty()) break;
    Inflight cur = inflight.front();
    inflight.pop_front();
    auto m = receiveResponse(cur.id);
    done(cur.piece);
    if (!m) {
      if (result) result = m.error();
      continue;
    }
    uint32_t s = le32(m->data() + smb2::kOffStatus);
    if (s) {
      if (result) result = err(NtStatus(s), "write");
      continue;
    }
    auto r = smb2::decodeWriteResponse(*m);
    if (!r) {
      if (result) result = r.error();
      continue;
    }
    if (short_write || !result) continue;
    written += r->count;
    if (cur.piece.rkey) countRdma(false, r->count);
    if (progress) progress(r->count);
    if (r->count != cur.piece.data.size()) {
      short_write = true;  // nothing more is sent; what is in flight is collected
      more = false;
    }
  }
  if (stopped_by) *stopped_by = result;
  if (!result && written == 0) return result.error();
  return written;
}

Status SmbClient::upload(const std::string& path, uint64_t size,
                         const std::function<Result<size_t>(uint64_t, std::span<uint8_t>)>& source,
                         const std::function<void(uint64_t)>& progress) {
  auto f = SD_TRY(openForUpload(path));
  auto pl = pipeline(size, info_.max_write, rdma::kAccessLocalWrite | rdma::kAccessRemoteRead);
  Bytes b;  // inline data: one buffer, reused (the request is in the socket when sent)
  uint64_t ended = UINT64_MAX;  // where the source ran dry
  auto next = [&](uint64_t off, uint64_t len) -> Result<WritePiece> {
    WritePiece p;
    std::span<uint8_t> dst;
    if (pl.rdma) {
      p.slot = pl.free_slots.back();
      pl.free_slots.pop_back();
      p.rkey = pl.mr->rkey();
      dst = std::span<uint8_t>(pl.slot(p.slot), len);
    } else {
      if (b.size() < len) b.resize(len);
      dst = std::span<uint8_t>(b.data(), len);
    }
    auto n = source(off, dst);
    if (!n || *n == 0) {
      if (pl.rdma) pl.free_slots.push_back(p.slot);
      if (!n) return n.error();
      ended = off;
      return WritePiece{};
    }
    p.data = ByteView(dst.data(), *n);
    return p;
  };
  auto done = [&](const WritePiece& p) {
    if (p.slot != WritePiece::kNoSlot) pl.free_slots.push_back(p.slot);
  };
  Status stopped = ok();
  auto w = writeWindow(f, 0, size, pl.chunk, next, done, progress, &stopped);
  return finishUpload(f, w, stopped, std::min(size, ended));
}

Result<smb2::FileId> SmbClient::openForUpload(const std::string& path) {
  return open(path, smb2::kFileWriteData | smb2::kFileReadAttributes | smb2::kFileWriteAttributes | smb2::kSynchronize,
              smb2::kFileOverwriteIf, smb2::kFileNonDirectoryFile, smb2::kFileShareRead);
}

// Closes the uploaded file; the first error wins: the write's, what stopped it after some data
// went (the source, the transport), a short write, then the CLOSE's.
Status SmbClient::finishUpload(const smb2::FileId& f, const Result<uint64_t>& written, const Status& stopped,
                               uint64_t expected) {
  Status c = close(f);
  if (!written) return written.error();
  if (!stopped) return stopped;
  if (*written < expected) return err(NtStatus::kDiskFull, "short write");
  return c;
}

Status SmbClient::uploadFrom(const std::string& path, ByteView data, const std::function<void(uint64_t)>& progress) {
  auto f = SD_TRY(openForUpload(path));
  uint32_t piece = opts_.max_io ? opts_.max_io : (4u << 20);
  Status stopped = ok();
  auto w = writePipelined(f, 0, data, piece, progress, &stopped);
  return finishUpload(f, w ? Result<uint64_t>(*w) : Result<uint64_t>(w.error()), stopped, data.size());
}

Status SmbClient::mkdir(const std::string& path) {
  auto f = SD_TRY(open(path, smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileCreate, smb2::kFileDirectoryFile));
  return close(f);
}

Status SmbClient::rmdir(const std::string& path) {
  auto f = SD_TRY(open(path, smb2::kDelete | smb2::kFileReadAttributes, smb2::kFileOpen,
                       smb2::kFileDirectoryFile | smb2::kFileDeleteOnClose));
  return close(f);
}

Status SmbClient::unlink(const std::string& path) {
  auto f = SD_TRY(open(path, smb2::kDelete | smb2::kFileReadAttributes, smb2::kFileOpen,
                       smb2::kFileNonDirectoryFile | smb2::kFileDeleteOnClose));
  return close(f);
}

Status SmbClient::setInfo(const smb2::FileId& f, uint8_t cls, ByteView buf) {
  return setInfo(f, smb2::kInfoFile, cls, 0, buf);
}

// SET_INFO (MS-SMB2 2.2.39) of any InfoType.
Status SmbClient::setInfo(const smb2::FileId& f, uint8_t info_type, uint8_t cls, uint32_t additional, ByteView buf) {
  smb2::SetInfoRequest q;
  q.info_type = info_type;
  q.file_info_class = cls;
  q.additional_information = additional;
  q.buffer = buf;
  q.file_id = f;
  auto m = transact(smb2::Command::kSetInfo, [&](ByteWriter& w) { smb2::encodeSetInfoRequest(q, w); });
  return m ? ok() : Status(m.error());
}

Status SmbClient::rename(const std::string& from, const std::string& to, bool replace) {
  auto f = SD_TRY(open(from, smb2::kDelete | smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileOpen, 0));
  fscc::FileRenameInformation ri;
  ri.replace_if_exists = replace;
  ri.file_name = wire(to);
  Status st = setInfo(f, fscc::kFileRenameInformation, fscc::encodeFileRenameInformation(ri));
  Status c = close(f);
  if (!st) return st;
  return c;
}

Status SmbClient::copy(const std::string& from, const std::string& to,
                       const std::function<void(uint64_t)>& progress) {
  auto st = SD_TRY(stat(from));
  if (st.directory) return err(NtStatus::kFileIsADirectory, "is a directory");
  auto src = SD_TRY(open(from, smb2::kFileReadData | smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileOpen,
                         smb2::kFileNonDirectoryFile, smb2::kFileShareRead));
  auto ioctl = [&](const smb2::FileId& f, uint32_t code, ByteView in, uint32_t max_out) -> Result<Bytes> {
    smb2::IoctlRequest q;
    q.ctl_code = code;
    q.file_id = f;
    q.input = in;
    q.max_output_response = max_out;
    q.flags = smb2::kIoctlIsFsctl;
    auto m = SD_TRY(transact(smb2::Command::kIoctl, [&](ByteWriter& w) { smb2::encodeIoctlRequest(q, w); }));
    auto r = SD_TRY(smb2::decodeIoctlResponse(m));
    return Bytes(r.output.begin(), r.output.end());
  };
  auto key_out = ioctl(src, smb2::kFsctlSrvRequestResumeKey, {}, 32);
  if (!key_out) {
    (void)close(src);
    return key_out.error();
  }
  auto key = smb2::decodeSrvRequestResumeKeyResponse(*key_out);
  if (!key) {
    (void)close(src);
    return key.error();
  }
  auto dst = open(to, smb2::kFileReadData | smb2::kFileWriteData | smb2::kFileReadAttributes | smb2::kSynchronize,
                  smb2::kFileOverwriteIf, smb2::kFileNonDirectoryFile, smb2::kFileShareRead);
  if (!dst) {
    (void)close(src);
    return dst.error();
  }
  // Windows' limits (MS-SMB2 3.3.3: 256 chunks, 1 MiB each, 16 MiB per request).
  constexpr uint32_t kChunk = 1 << 20, kChunksPerRequest = 16;
  Status result = ok();
  uint64_t off = 0;
  for (int guard = 0; guard < 1000000 && off < st.end_of_file; guard++) {
    smb2::SrvCopychunkCopy c;
    c.source_key = *key;
    uint64_t at = off;
    for (uint32_t i = 0; i < kChunksPerRequest && at < st.end_of_file; i++) {
      uint32_t len = uint32_t(std::min<uint64_t>(kChunk, st.end_of_file - at));
      c.chunks.push_back({at, at, len});
      at += len;
    }
    Bytes in = smb2::encodeSrvCopychunkCopy(c);
    auto out = ioctl(*dst, smb2::kFsctlSrvCopychunkWrite, in, 12);
    if (!out) {
      result = out.error();
      break;
    }
    auto r = smb2::decodeSrvCopychunkResponse(*out);
    if (!r || r->total_bytes_written == 0) {
      result = err(NtStatus::kUnexpectedNetworkError, "server copied nothing");
      break;
    }
    off += r->total_bytes_written;
    if (progress) progress(r->total_bytes_written);
  }
  Status c1 = close(*dst), c2 = close(src);
  if (!result) return result;
  if (!c1) return c1;
  return c2;
}

Result<size_t> SmbClient::read(const smb2::FileId& f, uint64_t offset, std::span<uint8_t> out) {
  bool rd = useRdma(out.size());
  smb2::ReadRequest q;
  q.length = uint32_t(std::min<size_t>(out.size(), ioLimit(rd, info_.max_read)));
  q.offset = offset;
  q.file_id = f;
  std::shared_ptr<rdma::MemoryRegion> mr;
  Bytes desc;
  if (rd) {
    mr = SD_TRY(transport_->registerMemory(out.data(), q.length, rdma::kAccessLocalWrite | rdma::kAccessRemoteWrite));
    desc = descriptorBytes(out.data(), mr->rkey(), q.length);
    q.channel = smb2::kChannelRdmaV1;
    q.read_channel_info = desc;
  }
  auto m = transact(smb2::Command::kRead, [&](ByteWriter& w) { smb2::encodeReadRequest(q, w); }, q.length);
  if (!m) {
    if (m.status() == NtStatus::kEndOfFile) return size_t(0);
    return m.error();
  }
  auto r = SD_TRY(smb2::decodeReadResponse(*m));
  if (rd) {
    if (!r.data.empty() || r.data_remaining > q.length)
      return fatal(NtStatus::kInvalidNetworkResponse, "RDMA read response out of bounds");
    countRdma(true, r.data_remaining);
    return size_t(r.data_remaining);
  }
  size_t n = std::min(r.data.size(), out.size());
  std::copy(r.data.begin(), r.data.begin() + long(n), out.begin());
  return n;
}

Result<SmbClient::ReadReply> SmbClient::readReply(const smb2::FileId& f, uint64_t offset, uint32_t length) {
  smb2::ReadRequest q;
  q.length = std::min<uint32_t>(length, ioLimit(false, info_.max_read));
  q.offset = offset;
  q.file_id = f;
  auto m = transact(smb2::Command::kRead, [&](ByteWriter& w) { smb2::encodeReadRequest(q, w); }, q.length);
  ReadReply out;
  if (!m) {
    if (m.status() == NtStatus::kEndOfFile) return out;
    return m.error();
  }
  out.message = std::move(*m);
  auto r = SD_TRY(smb2::decodeReadResponse(out.message));
  out.data = r.data.first(std::min<size_t>(r.data.size(), q.length));
  return out;
}

Result<size_t> SmbClient::writePipelined(const smb2::FileId& f, uint64_t offset, ByteView data, uint32_t piece,
                                         const std::function<void(uint64_t)>& progress, Status* stopped_by) {
  if (data.empty()) return size_t(0);
  bool rd = useRdma(std::min<uint64_t>(data.size(), piece));
  // On SMB Direct the caller's memory is registered once and the server pulls each piece from
  // it: no copy on this side (inline when it cannot be registered).
  std::shared_ptr<rdma::MemoryRegion> mr;
  if (rd) {
    auto m = transport_->registerMemory(const_cast<uint8_t*>(data.data()), data.size(),
                                   rdma::kAccessLocalWrite | rdma::kAccessRemoteRead);
    if (m) mr = *m;
    else rd = false;
  }
  piece = std::max<uint32_t>(std::min(piece, ioLimit(rd, info_.max_write)), 4096);
  auto next = [&](uint64_t off, uint64_t len) -> Result<WritePiece> {
    WritePiece p;
    p.data = data.subspan(size_t(off - offset), size_t(len));
    if (rd) p.rkey = mr->rkey();
    return p;
  };
  auto w = SD_TRY(writeWindow(f, offset, data.size(), piece, next, [](const WritePiece&) {}, progress, stopped_by));
  return size_t(w);
}

Result<size_t> SmbClient::write(const smb2::FileId& f, uint64_t offset, ByteView data) {
  bool rd = useRdma(data.size());
  smb2::WriteRequest q;
  q.offset = offset;
  q.file_id = f;
  ByteView part = data.first(std::min<size_t>(data.size(), ioLimit(rd, info_.max_write)));
  uint64_t id;
  std::shared_ptr<rdma::MemoryRegion> mr;
  if (rd) {
    mr = SD_TRY(transport_->registerMemory(const_cast<uint8_t*>(part.data()), part.size(),
                                      rdma::kAccessLocalWrite | rdma::kAccessRemoteRead));
    Bytes desc = descriptorBytes(part.data(), mr->rkey(), uint32_t(part.size()));
    q.channel = smb2::kChannelRdmaV1;
    q.remaining_bytes = uint32_t(part.size());
    q.write_channel_info = desc;
    SD_CHECK(sendRequest(smb2::Command::kWrite, [&](ByteWriter& w) { smb2::encodeWriteRequestHeader(q, 0, w); },
                         uint32_t(part.size()), &id));
  } else {
    SD_CHECK(sendRequest(smb2::Command::kWrite,
                         [&](ByteWriter& w) { smb2::encodeWriteRequestHeader(q, uint32_t(part.size()), w); },
                         uint32_t(part.size()), &id, part));
  }
  Bytes m = SD_TRY(receiveResponse(id));
  uint32_t st = le32(m.data() + smb2::kOffStatus);
  if (st) return err(NtStatus(st), "write");
  auto r = SD_TRY(smb2::decodeWriteResponse(m));
  if (rd) countRdma(false, r.count);
  return size_t(r.count);
}

Status SmbClient::truncate(const smb2::FileId& f, uint64_t size) {
  return setInfo(f, fscc::kFileEndOfFileInformation, fscc::encodeFileEndOfFileInformation(size));
}

Status SmbClient::setTimes(const smb2::FileId& f, uint64_t access_ft, uint64_t write_ft) {
  fscc::FileBasicInformation b{};
  b.last_access_time = access_ft;
  b.last_write_time = write_ft;
  return setInfo(f, fscc::kFileBasicInformation, fscc::encodeFileBasicInformation(b));
}

Status SmbClient::flush(const smb2::FileId& f) {
  auto m = transact(smb2::Command::kFlush, [&](ByteWriter& w) {
    w.u16(24);
    w.u16(0);
    w.u32(0);
    smb2::writeFileId(w, f);
  });
  return m ? ok() : Status(m.error());
}

Result<SmbClient::FsSize> SmbClient::statfs() {
  auto f = SD_TRY(open("", smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileOpen, smb2::kFileDirectoryFile));
  smb2::QueryInfoRequest q;
  q.info_type = smb2::kInfoFilesystem;
  q.file_info_class = fscc::kFileFsFullSizeInformation;
  q.output_buffer_length = 4096;
  q.file_id = f;
  auto m = transact(smb2::Command::kQueryInfo, [&](ByteWriter& w) { smb2::encodeQueryInfoRequest(q, w); });
  (void)close(f);
  if (!m) return m.error();
  auto r = SD_TRY(smb2::decodeQueryInfoResponse(*m));
  auto z = SD_TRY(fscc::decodeFsFullSizeInformation(r.buffer));
  FsSize out;
  out.total_units = z.total_allocation_units;
  out.free_units = z.actual_available_allocation_units;
  out.avail_units = z.caller_available_allocation_units;
  out.unit_bytes = z.sectors_per_allocation_unit * z.bytes_per_sector;
  return out;
}

std::string SmbClient::statusText() const {
  std::string o;
  auto add = [&](const char* fmt, auto... a) { internal::appendf(o, fmt, a...); };
  add("Server: %s  Reconnects: %llu\n", info_.server.c_str(), (unsigned long long)reconnects_);
  add("Dialect: 0x%04x  Signing: %s  Encryption: %s", info_.dialect, info_.signing ? "yes" : "no",
      info_.encryption ? "yes" : "no");
  if (info_.encryption) add("  Cipher: 0x%04x", info_.cipher);
  add("\nMax read: %u  Max write: %u  SMB credits: %u\n", info_.max_read, info_.max_write,
      credits_.load(std::memory_order_relaxed));
  if (transport_) o += transport_->statusText();
  else o += "Transport: TCP\n";
  if (rdmaEndpoint()) {
    add("  READ by RDMA: %llu (%llu bytes)  WRITE by RDMA: %llu (%llu bytes)\n",
        (unsigned long long)rdma_reads_.load(), (unsigned long long)rdma_read_bytes_.load(),
        (unsigned long long)rdma_writes_.load(), (unsigned long long)rdma_write_bytes_.load());
  }
  add("Leases granted: %llu  breaks received: %llu  acknowledged: %llu\n",
      (unsigned long long)leases_granted_.load(), (unsigned long long)breaks_received_.load(),
      (unsigned long long)breaks_acked_.load());
  add("Commands (sent / failed):\n");
  for (size_t i = 0; i < cmd_sent_.size(); i++) {
    uint64_t n = cmd_sent_[i].load(std::memory_order_relaxed);
    if (!n) continue;
    add("  %-16s %llu / %llu\n", smb2::commandName(uint16_t(i)), (unsigned long long)n,
        (unsigned long long)cmd_failed_[i].load(std::memory_order_relaxed));
  }
  return o;
}

std::string describe(NtStatus s) {
  switch (s) {
    case NtStatus::kLogonFailure: return "logon failure (wrong user name or password)";
    case NtStatus::kBadNetworkName: return "no such share";
    case NtStatus::kAccessDenied: return "access denied";
    case NtStatus::kConnectionRefused: return "connection refused";
    case NtStatus::kIoTimeout: return "timed out";
    case NtStatus::kObjectNameNotFound: return "no such file or directory";
    case NtStatus::kObjectPathNotFound: return "no such directory in the path";
    case NtStatus::kObjectNameCollision: return "already exists";
    case NtStatus::kDirectoryNotEmpty: return "directory not empty";
    case NtStatus::kFileIsADirectory: return "is a directory";
    case NtStatus::kNotADirectory: return "not a directory";
    case NtStatus::kSharingViolation: return "in use (sharing violation)";
    case NtStatus::kDiskFull: return "no space left on the server";
    case NtStatus::kBadNetworkPath: return "cannot resolve the server address";
    case NtStatus::kNotSupported: return "not supported by the server";
    default: return ntStatusName(s);
  }
}

int exitCodeFor(NtStatus s) {
  switch (s) {
    case NtStatus::kSuccess: return 0;
    case NtStatus::kLogonFailure: return 3;
    case NtStatus::kAccessDenied: return 4;
    case NtStatus::kBadNetworkName: return 5;
    case NtStatus::kObjectNameNotFound:
    case NtStatus::kObjectPathNotFound:
    case NtStatus::kNoSuchFile: return 6;
    case NtStatus::kConnectionRefused:
    case NtStatus::kBadNetworkPath:
    case NtStatus::kHostUnreachable:
    case NtStatus::kConnectionReset:
    case NtStatus::kConnectionDisconnected: return 7;
    case NtStatus::kIoTimeout: return 8;
    default: return 1;
  }
}

}  // namespace sd::client
