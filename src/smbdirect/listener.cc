#include "base/thread_name.h"
#include "smbdirect/listener.h"

#include "base/log.h"

namespace sd::smbdirect {

Listener::Listener(rdma::Provider* provider, EndpointOptions opts, OnAccept on_accept)
    : provider_(provider), opts_(std::move(opts)), on_accept_(std::move(on_accept)) {}

Listener::~Listener() { stop(); }

Status Listener::listen(const std::string& addr, uint16_t port) {
  if (!provider_) return err(NtStatus::kNotSupported, "no RDMA provider");
  ch_ = SD_TRY(provider_->createCmChannel());
  id_ = SD_TRY(ch_->createId());
  std::string a = addr.empty() ? "0.0.0.0" : addr;
  std::string hp = a.find(':') != std::string::npos ? "[" + a + "]:" + std::to_string(port)
                                                    : a + ":" + std::to_string(port);
  SD_CHECK(id_->listen(hp, 64));
  port_ = id_->localPort() ? id_->localPort() : port;
  return ok();
}

std::string Listener::localAddr() const { return id_ ? id_->localAddr() : std::string(); }

void Listener::start() { thread_ = std::thread([this] { run(); }); }

void Listener::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  id_.reset();
  ch_.reset();
}

void Listener::run() {
  setThreadName("sd-smbd-listen");
  while (!stop_) {
    auto ev = ch_->waitEvent(200);
    if (!ev) continue;
    if (ev->type == rdma::CmEventType::kConnectRequest) {
      auto ep = Endpoint::accept(provider_, *ev, opts_);
      if (!ep) {
        LOG_WARN("SMB Direct: cannot accept %s: %s", ev->id ? ev->id->peerAddr().c_str() : "?",
                 ep.error().what);
        continue;
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        for (auto it = endpoints_.begin(); it != endpoints_.end();)
          it = it->second.expired() ? endpoints_.erase(it) : std::next(it);
        endpoints_[ev->id.get()] = *ep;
      }
      on_accept_(*ep);
      continue;
    }
    if (!ev->id) continue;
    std::shared_ptr<Endpoint> ep;
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = endpoints_.find(ev->id.get());
      if (it != endpoints_.end()) ep = it->second.lock();
    }
    if (ep) ep->onCmEvent(*ev);
  }
}

}  // namespace sd::smbdirect
