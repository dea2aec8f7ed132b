// Transfers: pipelined downloads and uploads (up to kDepth requests in flight, on SMB Direct
// through registered slots), server-side copy, and the single READs and WRITEs of the mount.
#include <algorithm>
#include <deque>

#include "base/log.h"
#include "client/smb_client.h"
#include "client/transport.h"
#include "rdma/rdma.h"
#include "smb2/close.h"
#include "smb2/ioctl.h"
#include "smb2/rdma_transform.h"
#include "smb2/read.h"
#include "smbdirect/smbd_wire.h"
#include "smb2/write.h"

namespace sd::client {

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
  return rdmaEndpoint() && !sign_all_ && (!encrypt_all_ || info_.rdma_transform_encryption) &&
         len >= opts_.rdma_threshold;
}

uint32_t SmbClient::ioLimit(bool rdma, uint32_t negotiated) const {
  return transport_ ? transport_->ioLimit(rdma, negotiated) : negotiated;
}

namespace {
Bytes descriptorBytes(const void* addr, uint32_t rkey, uint32_t len) {
  ByteWriter w;
  const smbdirect::BufferDescriptorV1 d{uint64_t(uintptr_t(addr)), rkey, len};
  smbdirect::encodeBufferDescriptors(std::span(&d, 1), w);
  return w.take();
}
}  // namespace

// A WRITE's RDMA channel over `payload` (registered under `rkey`). On a sealed session the
// payload is encrypted in place and the descriptor wrapped in an SMB2_RDMA_TRANSFORM (MS-SMB2
// 2.2.43): so `payload` is always our own buffer then, never the caller's.
Bytes SmbClient::writeChannel(std::span<uint8_t> payload, uint32_t rkey, uint32_t& channel) {
  Bytes desc = descriptorBytes(payload.data(), rkey, uint32_t(payload.size()));
  if (!encrypt_all_) {
    channel = smb2::kChannelRdmaV1;
    return desc;
  }
  auto seal = smb2::sealRdmaPayload(info_.cipher, c2s_key_, payload);
  ByteWriter w;
  smb2::encodeRdmaTransform({smb2::kChannelRdmaV1, {smb2::encryptionTransform(seal)}, desc}, w);
  channel = smb2::kChannelRdmaTransform;
  return w.take();
}

// What a READ placed in `buf` by RDMA Write: DataRemaining bytes, DataLength 0 (MS-SMB2
// 3.3.5.12); on a sealed session encrypted, with the transform in the response's Buffer, and
// decrypted here in place. A sealed session's data never comes back in the clear.
Result<size_t> SmbClient::rdmaReadPayload(const smb2::ReadResponse& r, std::span<uint8_t> buf) {
  if (r.data_remaining > buf.size()) return fatal(NtStatus::kInvalidNetworkResponse, "RDMA read response out of bounds");
  const bool sealed = r.flags & smb2::kReadFlagResponseRdmaTransform;
  if (sealed != encrypt_all_)
    return fatal(NtStatus::kInvalidNetworkResponse,
                 encrypt_all_ ? "sealed READ answered in the clear over RDMA" : "RDMA transform on a READ in the clear");
  if (!sealed) {
    if (!r.data.empty()) return fatal(NtStatus::kInvalidNetworkResponse, "RDMA read response carries inline data");
    return size_t(r.data_remaining);
  }
  auto t = SD_TRY(smb2::decodeRdmaTransform(r.data));
  auto e = SD_TRY(smb2::encryptionTransformOf(t, info_.cipher));
  SD_CHECK(smb2::unsealRdmaPayload(info_.cipher, s2c_key_, e, buf.first(r.data_remaining)));
  return size_t(r.data_remaining);
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
      auto n = rdmaReadPayload(*r, std::span<uint8_t>(pl.slot(cur.slot), cur.length));
      if (!n) { result = n.error(); break; }
      data = ByteView(pl.slot(cur.slot), *n);
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
        // Sealed pieces are the pipeline's own slots (writePipelined never seals by RDMA).
        Bytes desc = writeChannel(std::span<uint8_t>(const_cast<uint8_t*>(piece->data.data()), len), piece->rkey,
                                  q.channel);
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

Result<size_t> SmbClient::read(const smb2::FileId& f, uint64_t offset, std::span<uint8_t> out, bool* eof) {
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
  if (eof) *eof = false;
  if (!m) {
    if (m.status() != NtStatus::kEndOfFile) return m.error();
    if (eof) *eof = true;
    return size_t(0);
  }
  auto r = SD_TRY(smb2::decodeReadResponse(*m));
  if (rd) {
    size_t n = SD_TRY(rdmaReadPayload(r, out.first(q.length)));
    countRdma(true, n);
    if (eof) *eof = n < q.length;
    return n;
  }
  size_t n = std::min<size_t>(r.data.size(), q.length);
  std::copy(r.data.begin(), r.data.begin() + long(n), out.begin());
  if (eof) *eof = n < q.length;
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
    if (m.status() != NtStatus::kEndOfFile) return m.error();
    out.eof = true;
    return out;
  }
  out.message = std::move(*m);
  auto r = SD_TRY(smb2::decodeReadResponse(out.message));
  out.data = r.data.first(std::min<size_t>(r.data.size(), q.length));
  out.eof = out.data.size() < q.length;
  return out;
}

Result<size_t> SmbClient::writePipelined(const smb2::FileId& f, uint64_t offset, ByteView data, uint32_t piece,
                                         const std::function<void(uint64_t)>& progress, Status* stopped_by) {
  if (data.empty()) return size_t(0);
  // The caller's memory: a sealed payload would be encrypted in it, so sealed writes go inline.
  bool rd = useRdma(std::min<uint64_t>(data.size(), piece)) && !encrypt_all_;
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
  bool rd = useRdma(data.size()) && !encrypt_all_;  // the caller's memory: as writePipelined
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

}  // namespace sd::client
