// WRITE (MS-SMB2 3.3.5.13): data from the request buffer to the backend (no copy), pipe writes;
// on SMB Direct with an RDMA channel the server pulls RemainingBytes from the client's buffers by
// RDMA Read into a registered buffer first.
#include "fscc/notify_info.h"
#include "server/connection.h"
#include "server/rdma_channel.h"
#include "smb2/constants.h"
#include "smb2/write.h"

namespace sd::server {

Status handleWrite(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeWriteRequest(r.msg));
  auto open = SD_TRY(c.openOf(r, req.file_id));
  if (req.data.size() > c.negotiated().max_write) return err(NtStatus::kInvalidParameter, "write too large");
  RdmaChannel ch;
  const auto& rdma = ch.descriptors;
  if (req.channel != smb2::kChannelNone) {
    if (req.remaining_bytes > c.negotiated().max_write) return err(NtStatus::kInvalidParameter, "write too large");
    ch = SD_TRY(rdmaChannel(c, r, req.channel, req.write_channel_info, req.remaining_bytes, true));
    // Even an error response invalidates the client's key when asked (as ksmbd does): the
    // client counts on it.
    if (ch.channel == smb2::kChannelRdmaV1Invalidate) r.remote_invalidate = rdma[0].token;
    if (open->pipe) return err(NtStatus::kInvalidParameter, "RDMA channel on a pipe");
  }
  smb2::WriteResponse resp;
  if (open->pipe) {
    SD_TRY(open->pipe->write(req.data));
    resp.count = uint32_t(req.data.size());
    smb2::encodeWriteResponse(resp, r.out);
    return ok();
  }
  if (open->is_directory) return err(NtStatus::kInvalidDeviceRequest, "write on a directory");
  if (!(open->granted_access & (smb2::kFileWriteData | smb2::kFileAppendData)))
    return err(NtStatus::kAccessDenied, "no write access");
  if (r.tree->read_only) return err(NtStatus::kAccessDenied, "read-only share");
  uint64_t offset = req.offset;
  // Offset 0xFFFFFFFFFFFFFFFF with FILE_APPEND_DATA only means "at end of file".
  if (offset == ~0ull) {
    auto st = SD_TRY(open->handle->stat());
    offset = st.end_of_file;
  }
  ByteView data = req.data;
  if (!rdma.empty()) {
    auto got = c.transport().rdmaFetch(rdma, req.remaining_bytes);
    if (!got) return fatal(got.error().status, "RDMA read from the client failed");
    // An encrypted payload (MS-SMB2 2.2.43): decrypted in place, written only if it verifies.
    if (ch.seal) SD_CHECK(smb2::unsealRdmaPayload(r.session->cipher, r.session->keys.c2s_key, *ch.seal, *got));
    data = *got;
  }
  if (!c.state().locks().ioAllowed(open->file_key, open->volatile_id, offset, data.size(), true))
    return err(NtStatus::kFileLockConflict, "range locked");
  // A stream's data is an xattr of its file: reported as the stream's change, not the file's.
  std::optional<StreamChange> stream_change;
  if (open->is_stream) stream_change.emplace(c.state().changes(), *open->tree->share->fs, open->path());
  auto n = SD_TRY(open->handle->pwrite(offset, data));
  if (stream_change)
    stream_change->report(fscc::kFileActionModifiedStream, fscc::kNotifyChangeStreamWrite | fscc::kNotifyChangeStreamSize);
  open->written.store(true, std::memory_order_relaxed);
  // Other opens' level II oplocks: their cached reads are stale now (MS-FSA 2.1.5.3).
  c.state().oplocks().breakLevelII(open->file_key, open->lease ? &*open->lease : nullptr);
  open->position = offset + n;
  if (req.flags & (smb2::kWriteFlagWriteThrough | smb2::kWriteFlagWriteUnbuffered))
    SD_CHECK(open->handle->fsync());
  resp.count = uint32_t(n);
  smb2::encodeWriteResponse(resp, r.out);
  return ok();
}

}  // namespace sd::server
