// The client's attack surface: responses through their decoders.
#include <cstddef>
#include <cstdint>

#include "fscc/notify_info.h"
#include "smb2/change_notify.h"
#include "smb2/close.h"
#include "smb2/constants.h"
#include "smb2/create.h"
#include "smb2/durable.h"
#include "smb2/error.h"
#include "smb2/header.h"
#include "smb2/ioctl.h"
#include "smb2/lease.h"
#include "smb2/negotiate.h"
#include "smb2/query_directory.h"
#include "smb2/query_info.h"
#include "smb2/rdma_transform.h"
#include "smb2/read.h"
#include "smb2/session_setup.h"
#include "smb2/tree_connect.h"
#include "smb2/write.h"

using namespace sd;
using namespace sd::smb2;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView msg(data, size);
  auto h = decodeHeader(msg);
  if (!h) return 0;
  (void)decodeErrorResponse(msg);
  switch (h->command) {
    case Command::kNegotiate: {
      auto r = decodeNegotiateResponse(msg);
      if (r)
        for (const auto& c : r->negotiate_contexts) (void)decodeRdmaTransformCapabilities(c.data);
      break;
    }
    case Command::kSessionSetup: (void)decodeSessionSetupResponse(msg); break;
    case Command::kTreeConnect: (void)decodeTreeConnectResponse(msg); break;
    case Command::kCreate: {
      auto r = decodeCreateResponse(msg);
      if (r)
        for (const auto& c : r->decoded_contexts)
          if (c.name == kCreateRequestLease) (void)decodeLeaseContext(c.data);
      if (r) (void)decodeDurableResponse(r->decoded_contexts);
      break;
    }
    case Command::kOplockBreak:
      (void)oplockBreakStructureSize(msg);
      (void)decodeLeaseBreakNotification(msg);
      (void)decodeLeaseBreakAck(msg);
      break;
    case Command::kClose: (void)decodeCloseResponse(msg); break;
    case Command::kRead: {
      auto r = decodeReadResponse(msg);
      if (r && (r->flags & kReadFlagResponseRdmaTransform)) {
        auto t = decodeRdmaTransform(r->data);
        if (t) (void)encryptionTransformOf(*t, kCipherAes128Ccm);
      }
      break;
    }
    case Command::kWrite: (void)decodeWriteResponse(msg); break;
    case Command::kIoctl: {
      auto r = decodeIoctlResponse(msg);
      if (r) {
        (void)decodeNetworkInterfaceInfo(r->output);
        (void)decodeValidateNegotiateInfoResponse(r->output);
        (void)decodeSrvCopychunkResponse(r->output);
        (void)decodeSrvRequestResumeKeyResponse(r->output);
      }
      break;
    }
    case Command::kQueryDirectory: (void)decodeQueryDirectoryResponse(msg); break;
    case Command::kQueryInfo: (void)decodeQueryInfoResponse(msg); break;
    case Command::kChangeNotify:
      if (auto r = decodeChangeNotifyResponse(msg)) (void)fscc::decodeNotifyInformation(r->buffer);
      break;
    default: break;
  }
  return 0;
}
