// READ (MS-SMB2 3.3.5.12): file data straight from the backend into the response buffer (one
// copy), named-pipe reads for IPC$; on SMB Direct with an RDMA channel the data goes from a
// registered buffer to the client's by RDMA Write and the response carries DataLength 0 and
// DataRemaining = the bytes written.
#include "server/connection.h"
#include "server/rdma_channel.h"
#include "smb2/constants.h"
#include "smb2/read.h"

namespace sd::server {

Status handleRead(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeReadRequest(r.msg));
  auto open = SD_TRY(c.openOf(r, req.file_id));
  if (req.length > c.negotiated().max_read) return err(NtStatus::kInvalidParameter, "read too large");
  RdmaChannel ch;
  const auto& rdma = ch.descriptors;
  if (req.channel != smb2::kChannelNone) {
    ch = SD_TRY(rdmaChannel(c, r, req.channel, req.read_channel_info, req.length, false));
    // Even an error response invalidates the client's key when asked (as ksmbd does): the
    // client counts on it.
    if (ch.channel == smb2::kChannelRdmaV1Invalidate) r.remote_invalidate = rdma[0].token;
    if (open->pipe) return err(NtStatus::kInvalidParameter, "RDMA channel on a pipe");
  }

  if (open->pipe) {
    auto data = SD_TRY(open->pipe->read(req.length));
    smb2::ReadResponse resp;
    resp.data = data.bytes;
    smb2::encodeReadResponse(resp, r.out);
    if (data.more) r.status = NtStatus::kBufferOverflow;
    return ok();
  }
  if (open->is_directory) return err(NtStatus::kInvalidDeviceRequest, "read on a directory");
  if (!(open->granted_access & (smb2::kFileReadData | smb2::kFileExecute)))
    return err(NtStatus::kAccessDenied, "no read access");
  if (!c.state().locks().ioAllowed(open->file_key, open->volatile_id, req.offset, req.length, false))
    return err(NtStatus::kFileLockConflict, "range locked");
  if (!rdma.empty()) {
    auto buf = SD_TRY(c.transport().rdmaBuffer(req.length));
    size_t n = SD_TRY(open->handle->pread(req.offset, buf));
    if (n == 0 && req.length > 0) return err(NtStatus::kEndOfFile);
    if (n < req.minimum_count) return err(NtStatus::kEndOfFile, "short read below MinimumCount");
    // A sealed session's data leaves encrypted, with its transform in the response (MS-SMB2
    // 2.2.20 SMB2_READFLAG_RESPONSE_RDMA_TRANSFORM, 2.2.43).
    std::optional<smb2::RdmaSeal> seal;
    if (ch.seal_payload) seal = smb2::sealRdmaPayload(r.session->cipher, r.session->keys.s2c_key, buf.first(n));
    Status w = c.transport().rdmaWrite(ByteView(buf.data(), n), rdma);
    if (!w) return fatal(w.error().status, "RDMA write to the client failed");
    open->position = req.offset + n;
    if (seal) {
      ByteWriter t;
      smb2::encodeRdmaTransform({smb2::kChannelNone, {smb2::encryptionTransform(*seal)}, {}}, t);
      smb2::encodeReadResponse({t.buf(), uint32_t(n), smb2::kReadFlagResponseRdmaTransform}, r.out);
      return ok();
    }
    // Exactly the 16-byte fixed part, no Buffer byte (as ksmbd and Windows send it): cifs.ko
    // takes the bytes after the fixed part of an RDMA read response as the next message.
    smb2::encodeReadResponseHeader(r.out);
    smb2::finishReadResponseHeader(r.out, 0, uint32_t(n));
    return ok();
  }
  // Encode the fixed part, then read the data directly behind it, into the connection's spare
  // response buffer when it is large enough (no zero-fill of bytes the read overwrites).
  size_t data_at = smb2::encodeReadResponseHeader(r.out);
  // Inline data must fit in one transport message with its headers and, on a sealed session,
  // the transform header: on SMB Direct the peer's MaxFragmentedSize, which cifs.ko's sealed
  // 1 MiB READs exceed (it sends encrypted I/O inline and sizes it for signing only). Such a
  // READ fails (the client reports an I/O error) rather than leave the client waiting for a
  // response the transport cannot carry. A short read instead was tried: Linux 6.12's cifs.ko
  // then returned wrong data.
  if (req.length + smb2::kSealedReadResponseOverhead > size_t(c.transport().info().max_message)) {
    r.out.buf().resize(64);
    return err(NtStatus::kInvalidParameter, "inline READ response larger than the peer's MaxFragmentedSize");
  }
  Bytes& out = r.out.buf();
  if (Bytes spare = c.takeResponseBuffer(); spare.size() >= data_at + req.length) {
    std::copy(out.begin(), out.begin() + long(data_at), spare.begin());
    out.swap(spare);
  }
  out.resize(data_at + req.length);
  auto n = open->handle->pread(req.offset, std::span<uint8_t>(out.data() + data_at, req.length));
  if (!n) {
    out.resize(64);
    return n.error();
  }
  out.resize(data_at + *n);
  if (*n == 0 && req.length > 0) {
    out.resize(64);
    return err(NtStatus::kEndOfFile);
  }
  if (*n < req.minimum_count) {
    out.resize(64);
    return err(NtStatus::kEndOfFile, "short read below MinimumCount");
  }
  smb2::finishReadResponseHeader(r.out, uint32_t(*n));
  open->position = req.offset + *n;  // FilePositionInformation follows synchronous I/O
  return ok();
}

}  // namespace sd::server
