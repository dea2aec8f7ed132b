// IOCTL (MS-SMB2 3.3.5.15): VALIDATE_NEGOTIATE_INFO, QUERY_NETWORK_INTERFACE_INFO,
// PIPE_TRANSCEIVE, SRV_REQUEST_RESUME_KEY, SRV_COPYCHUNK(_WRITE), SET_SPARSE, SET_ZERO_DATA,
// QUERY_ALLOCATED_RANGES.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "server/connection.h"
#include "smb2/constants.h"
#include "smb2/ioctl.h"

namespace sd::server {

namespace {

// Windows' limits for server-side copy (MS-SMB2 3.3.3: ServerSideCopyMax*).
constexpr uint32_t kCopyMaxChunks = 256;
constexpr uint32_t kCopyMaxChunkSize = 1024 * 1024;
constexpr uint32_t kCopyMaxTotal = 16 * 1024 * 1024;

Result<Bytes> validateNegotiate(Connection& c, Request& r, ByteView in) {
  auto v = SD_TRY(smb2::decodeValidateNegotiateInfoRequest(in));
  auto& neg = c.negotiated();
  // MS-SMB2 3.3.5.15.12: any mismatch means a downgrade attempt: drop the connection.
  bool dialect_offered = std::find(v.dialects.begin(), v.dialects.end(), neg.dialect) != v.dialects.end();
  if (v.capabilities != neg.client_capabilities || v.guid != neg.client_guid ||
      v.security_mode != neg.client_security_mode || !dialect_offered)
    return fatal(NtStatus::kAccessDenied, "VALIDATE_NEGOTIATE_INFO mismatch");
  smb2::ValidateNegotiateInfoResponse resp;
  resp.capabilities = neg.server_capabilities;
  resp.guid = c.state().serverGuid();
  resp.security_mode = smb2::kNegotiateSigningEnabled |
                       (neg.signing_required ? smb2::kNegotiateSigningRequired : 0);
  resp.dialect = neg.dialect;
  r.sign_response = true;
  return smb2::encodeValidateNegotiateInfoResponse(resp);
}

Result<Bytes> networkInterfaces(Connection& c) {
  std::vector<smb2::NetworkInterfaceInfo> list;
  ifaddrs* ifa = nullptr;
  if (getifaddrs(&ifa) != 0) return err(ntStatusFromErrno(errno), "getifaddrs");
  const auto& g = c.state().global();
  for (ifaddrs* i = ifa; i; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
    int fam = i->ifa_addr->sa_family;
    if (fam != AF_INET && fam != AF_INET6) continue;
    if (!g.interfaces.empty() && g.bind_interfaces_only) {
      // Only what the server listens on.
      char host[64] = "";
      if (fam == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, host, sizeof host);
      else
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, host, sizeof host);
      bool listed = false;
      for (const auto& want : g.interfaces)
        if (want == host || want == i->ifa_name) listed = true;
      if (!listed) continue;
    } else if (i->ifa_flags & IFF_LOOPBACK) {
      continue;
    }
    smb2::NetworkInterfaceInfo n;
    n.if_index = if_nametoindex(i->ifa_name);
    n.capability = c.state().rdmaListening() ? smb2::kRdmaCapable : 0;
    n.link_speed = 10000000000ull;
    n.family = uint16_t(fam);
    if (fam == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      std::memcpy(n.address.data(), &a->sin_addr, 4);
    } else {
      auto* a = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      std::memcpy(n.address.data(), &a->sin6_addr, 16);
    }
    list.push_back(n);
  }
  freeifaddrs(ifa);
  return smb2::encodeNetworkInterfaceInfo(list);
}

Result<Bytes> copyChunk(Connection& c, Request& r, Open& dst, ByteView in, bool write_variant) {
  auto cc = SD_TRY(smb2::decodeSrvCopychunkCopy(in));
  smb2::SrvCopychunkResponse limits{kCopyMaxChunks, kCopyMaxChunkSize, kCopyMaxTotal};
  uint64_t total = 0;
  bool bad = cc.chunks.size() > kCopyMaxChunks;
  for (const auto& ch : cc.chunks) {
    if (ch.length == 0 || ch.length > kCopyMaxChunkSize) bad = true;
    total += ch.length;
  }
  if (bad || total > kCopyMaxTotal) {
    r.status = NtStatus::kInvalidParameter;
    return smb2::encodeSrvCopychunkResponse(limits);
  }
  auto src = c.state().findOpenByResumeKey(cc.source_key);
  if (!src || !src->handle) return err(NtStatus::kObjectNameNotFound, "resume key");
  if (!(src->granted_access & smb2::kFileReadData)) return err(NtStatus::kAccessDenied, "source read");
  uint32_t need = smb2::kFileWriteData | (write_variant ? 0 : smb2::kFileReadData);
  if ((dst.granted_access & need) != need) return err(NtStatus::kAccessDenied, "dest access");
  smb2::SrvCopychunkResponse done{0, 0, 0};
  dst.written.store(true, std::memory_order_relaxed);
  for (const auto& ch : cc.chunks) {
    auto n = dst.handle->copyFrom(*src->handle, ch.source_offset, ch.target_offset, ch.length);
    if (!n) return n.error();
    done.chunks_written++;
    done.total_bytes_written += uint32_t(*n);
    if (*n < ch.length) break;
  }
  done.chunk_bytes_written = 0;
  return smb2::encodeSrvCopychunkResponse(done);
}

}  // namespace

Status handleIoctl(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeIoctlRequest(r.msg));
  if (!(req.flags & smb2::kIoctlIsFsctl)) return err(NtStatus::kNotSupported, "not an FSCTL");
  if (req.max_output_response > c.negotiated().max_transact)
    return err(NtStatus::kInvalidParameter, "output too large");
  Bytes out;
  bool needs_file = req.ctl_code != smb2::kFsctlValidateNegotiateInfo &&
                    req.ctl_code != smb2::kFsctlQueryNetworkInterfaceInfo &&
                    req.ctl_code != smb2::kFsctlDfsGetReferrals &&
                    req.ctl_code != smb2::kFsctlDfsGetReferralsEx;
  std::shared_ptr<Open> open;
  if (needs_file) {
    open = SD_TRY(c.openOf(r, req.file_id));
  }
  switch (req.ctl_code) {
    case smb2::kFsctlValidateNegotiateInfo:
      out = SD_TRY(validateNegotiate(c, r, req.input));
      break;
    case smb2::kFsctlQueryNetworkInterfaceInfo:
      out = SD_TRY(networkInterfaces(c));
      break;
    case smb2::kFsctlDfsGetReferrals:
    case smb2::kFsctlDfsGetReferralsEx:
      return err(NtStatus::kFsDriverRequired, "no DFS");
    case smb2::kFsctlPipeTransceive: {
      if (!open->pipe) return err(NtStatus::kInvalidDeviceRequest, "not a pipe");
      auto res = SD_TRY(open->pipe->transceive(req.input, req.max_output_response));
      out = std::move(res.bytes);
      if (res.more) r.status = NtStatus::kBufferOverflow;
      break;
    }
    case smb2::kFsctlSrvRequestResumeKey:
      if (!open->handle) return err(NtStatus::kInvalidDeviceRequest);
      out = smb2::encodeSrvRequestResumeKeyResponse(c.state().resumeKeyFor(*open));
      break;
    case smb2::kFsctlSrvCopychunk:
    case smb2::kFsctlSrvCopychunkWrite:
      if (!open->handle || open->is_directory) return err(NtStatus::kInvalidDeviceRequest);
      out = SD_TRY(copyChunk(c, r, *open, req.input, req.ctl_code == smb2::kFsctlSrvCopychunkWrite));
      break;
    case smb2::kFsctlCreateOrGetObjectId: {
      // MS-FSCC 2.3.7 FILE_OBJECTID_BUFFER: a stable id derived from the file's identity.
      if (!open->handle) return err(NtStatus::kInvalidDeviceRequest);
      auto st = SD_TRY(open->handle->stat());
      ByteWriter w;
      w.u64(st.file_id);
      w.u64(st.device);
      const auto& g = c.state().serverGuid();
      w.bytes(ByteView(g.data(), 16));  // BirthVolumeId
      w.u64(st.file_id);                // BirthObjectId
      w.u64(st.device);
      w.zeros(16);                      // DomainId
      out = w.take();
      break;
    }
    case smb2::kFsctlSetSparse:
      if (!open->handle) return err(NtStatus::kInvalidDeviceRequest);
      break;  // every POSIX file can be sparse; nothing to record
    case smb2::kFsctlSetZeroData: {
      if (!open->handle || open->is_directory) return err(NtStatus::kInvalidDeviceRequest);
      if (!(open->granted_access & smb2::kFileWriteData)) return err(NtStatus::kAccessDenied);
      auto z = SD_TRY(smb2::decodeFileZeroDataInformation(req.input));
      if (z.beyond_final_zero < z.file_offset) return err(NtStatus::kInvalidParameter);
      SD_CHECK(open->handle->zeroRange(z.file_offset, z.beyond_final_zero - z.file_offset));
      break;
    }
    case smb2::kFsctlQueryAllocatedRanges: {
      if (!open->handle || open->is_directory) return err(NtStatus::kInvalidDeviceRequest);
      auto q = SD_TRY(smb2::decodeFileAllocatedRangeBuffer(req.input));
      auto ranges = SD_TRY(open->handle->allocatedRanges(q.file_offset, q.length));
      std::vector<smb2::FileAllocatedRangeBuffer> v;
      for (auto& [off, len] : ranges) v.push_back({off, len});
      out = smb2::encodeFileAllocatedRanges(v);
      if (out.size() > req.max_output_response) {
        out.resize(req.max_output_response / 16 * 16);
        r.status = NtStatus::kBufferOverflow;
      }
      break;
    }
    default:
      LOG_DEBUG("FSCTL 0x%08x not supported", req.ctl_code);
      return err(NtStatus::kNotSupported, "FSCTL not supported");
  }
  if (out.size() > req.max_output_response) return err(NtStatus::kBufferTooSmall, "output");
  smb2::IoctlResponse resp;
  resp.ctl_code = req.ctl_code;
  resp.file_id = req.file_id;
  resp.output = out;
  smb2::encodeIoctlResponse(resp, r.out);
  return ok();
}

}  // namespace sd::server
