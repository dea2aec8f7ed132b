// Provider registry and the small helpers every user of the API needs.
#include "rdma/rdma.h"

#include <poll.h>

#include <chrono>

#include "rdma/soft/soft_provider.h"
#ifdef SD_RDMA_HAVE_VERBS
#include "rdma/verbs/verbs_provider.h"
#endif

namespace sd::rdma {

const char* wcStatusName(WcStatus s) {
  switch (s) {
    case WcStatus::kSuccess: return "success";
    case WcStatus::kLocLenErr: return "local length error";
    case WcStatus::kLocQpOpErr: return "local QP operation error";
    case WcStatus::kLocProtErr: return "local protection error";
    case WcStatus::kWrFlushErr: return "WR flushed";
    case WcStatus::kBadRespErr: return "bad response";
    case WcStatus::kLocAccessErr: return "local access error";
    case WcStatus::kRemInvReqErr: return "remote invalid request";
    case WcStatus::kRemAccessErr: return "remote access error";
    case WcStatus::kRemOpErr: return "remote operation error";
    case WcStatus::kRetryExcErr: return "transport retry counter exceeded";
    case WcStatus::kRnrRetryExcErr: return "RNR retry counter exceeded";
    case WcStatus::kFatalErr: return "fatal error";
    case WcStatus::kGeneralErr: return "general error";
  }
  return "unknown";
}

const char* cmEventName(CmEventType t) {
  switch (t) {
    case CmEventType::kAddrResolved: return "ADDR_RESOLVED";
    case CmEventType::kAddrError: return "ADDR_ERROR";
    case CmEventType::kConnectRequest: return "CONNECT_REQUEST";
    case CmEventType::kConnectResponse: return "CONNECT_RESPONSE";
    case CmEventType::kConnectError: return "CONNECT_ERROR";
    case CmEventType::kUnreachable: return "UNREACHABLE";
    case CmEventType::kRejected: return "REJECTED";
    case CmEventType::kEstablished: return "ESTABLISHED";
    case CmEventType::kDisconnected: return "DISCONNECTED";
    case CmEventType::kDeviceRemoval: return "DEVICE_REMOVAL";
    case CmEventType::kTimeWaitExit: return "TIMEWAIT_EXIT";
  }
  return "?";
}

std::vector<Provider*> providers() {
  std::vector<Provider*> out;
  out.push_back(soft::softProvider());
#ifdef SD_RDMA_HAVE_VERBS
  out.push_back(verbs::verbsProvider());
#endif
  return out;
}

Provider* findProvider(std::string_view name) {
  for (Provider* p : providers())
    if (p->name() == name) return p;
  return nullptr;
}

namespace {
int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Result<CmEvent> CmChannel::waitEvent(int timeout_ms) {
  int64_t deadline = nowMs() + timeout_ms;
  for (;;) {
    auto e = getEvent();
    if (e || e.status() != NtStatus::kPending) return e;
    int64_t left = deadline - nowMs();
    if (left <= 0) return err(NtStatus::kIoTimeout, "no CM event");
    pollfd p{fd(), POLLIN, 0};
    ::poll(&p, 1, int(std::min<int64_t>(left, 100)));
  }
}

Result<CmEvent> expectEvent(CmChannel& ch, CmEventType type, int timeout_ms) {
  auto e = SD_TRY(ch.waitEvent(timeout_ms));
  if (e.type != type) return err(NtStatus::kUnexpectedNetworkError, cmEventName(e.type));
  return e;
}

Result<std::vector<Wc>> waitCompletions(CompletionQueue& cq, size_t n, int timeout_ms) {
  std::vector<Wc> out;
  int64_t deadline = nowMs() + timeout_ms;
  Wc buf[32];
  while (out.size() < n) {
    int got = SD_TRY(cq.poll(std::span<Wc>(buf, std::min<size_t>(32, n - out.size()))));
    for (int i = 0; i < got; i++) out.push_back(buf[i]);
    if (out.size() >= n) break;
    if (got > 0) continue;
    SD_CHECK(cq.reqNotify(false));
    got = SD_TRY(cq.poll(std::span<Wc>(buf, std::min<size_t>(32, n - out.size()))));
    for (int i = 0; i < got; i++) out.push_back(buf[i]);
    if (got > 0) continue;
    int64_t left = deadline - nowMs();
    if (left <= 0) return err(NtStatus::kIoTimeout, "completion timeout");
    pollfd p{cq.fd(), POLLIN, 0};
    if (::poll(&p, 1, int(std::min<int64_t>(left, 100))) > 0) (void)cq.consumeEvent();
  }
  return out;
}

}  // namespace sd::rdma
