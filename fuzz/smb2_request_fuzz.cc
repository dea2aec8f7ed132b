// The server's attack surface: any SMB2 message through the header decoder, the compound
// splitter and the request decoder of its command.
#include <cstddef>
#include <cstdint>

#include "smb2/change_notify.h"
#include "smb2/close.h"
#include "smb2/compound.h"
#include "smb2/constants.h"
#include "smb2/create.h"
#include "smb2/durable.h"
#include "smb2/flush.h"
#include "smb2/header.h"
#include "smb2/ioctl.h"
#include "smb2/lease.h"
#include "smb2/lock.h"
#include "smb2/negotiate.h"
#include "smb2/oplock_break.h"
#include "smb2/query_directory.h"
#include "smb2/query_info.h"
#include "smb2/rdma_transform.h"
#include "smb2/read.h"
#include "smb2/session_setup.h"
#include "smb2/set_info.h"
#include "smb2/tree_connect.h"
#include "smb2/write.h"

using namespace sd;
using namespace sd::smb2;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView frame(data, size);
  auto parts = splitCompound(frame);
  if (!parts) return 0;
  for (ByteView msg : *parts) {
    auto h = decodeHeader(msg);
    if (!h) continue;
    switch (h->command) {
      case Command::kNegotiate: {
        auto r = decodeNegotiateRequest(msg);
        if (r)
          for (const auto& c : r->negotiate_contexts) {
            (void)decodePreauthIntegrityCapabilities(c.data);
            (void)decodeEncryptionCapabilities(c.data);
            (void)decodeSigningCapabilities(c.data);
            (void)decodeRdmaTransformCapabilities(c.data);
          }
        break;
      }
      case Command::kSessionSetup: (void)decodeSessionSetupRequest(msg); break;
      case Command::kLogoff: (void)decodeLogoffRequest(msg); break;
      case Command::kTreeConnect: (void)decodeTreeConnectRequest(msg); break;
      case Command::kCreate: {
        auto r = decodeCreateRequest(msg);
        if (r)
          for (const auto& c : r->create_contexts) {
            (void)decodeAllocationSize(c.data);
            (void)decodeLeaseContext(c.data);
          }
        if (r) (void)decodeDurableContexts(r->create_contexts);
        break;
      }
      case Command::kClose: (void)decodeCloseRequest(msg); break;
      case Command::kFlush: (void)decodeFlushRequest(msg); break;
      case Command::kRead: {
        auto r = decodeReadRequest(msg);
        if (r) (void)smbdirect::decodeBufferDescriptors(r->read_channel_info);
        if (r) (void)decodeRdmaTransform(r->read_channel_info);
        break;
      }
      case Command::kWrite: {
        auto r = decodeWriteRequest(msg);
        if (r) {
          auto t = decodeRdmaTransform(r->write_channel_info);
          if (t) (void)encryptionTransformOf(*t, kCipherAes128Gcm);
        }
        break;
      }
      case Command::kLock: (void)decodeLockRequest(msg); break;
      case Command::kIoctl: {
        auto r = decodeIoctlRequest(msg);
        if (r) {
          (void)decodeValidateNegotiateInfoRequest(r->input);
          (void)decodeSrvCopychunkCopy(r->input);
          (void)decodeFileZeroDataInformation(r->input);
          (void)decodeFileAllocatedRangeBuffer(r->input);
        }
        break;
      }
      case Command::kQueryDirectory: (void)decodeQueryDirectoryRequest(msg); break;
      case Command::kChangeNotify: (void)decodeChangeNotifyRequest(msg); break;
      case Command::kQueryInfo: (void)decodeQueryInfoRequest(msg); break;
      case Command::kSetInfo: (void)decodeSetInfoRequest(msg); break;
      case Command::kOplockBreak:
        (void)decodeOplockBreakAcknowledgment(msg);
        (void)decodeLeaseBreakAck(msg);
        break;
      default: break;
    }
  }
  return 0;
}
