// SMB Direct listener: listens on one provider's connection manager, accepts each connection
// request as an Endpoint (MS-SMBD server role) and routes the CM events of accepted ids to their
// endpoints. One thread; the callback runs on it and must not block for long.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "smbdirect/endpoint.h"

namespace sd::smbdirect {

class Listener {
 public:
  using OnAccept = std::function<void(std::shared_ptr<Endpoint>)>;
  Listener(rdma::Provider* provider, EndpointOptions opts, OnAccept on_accept);
  ~Listener();
  // Binds "addr:port" (addr empty: every address); port 0 picks a free one (see port()).
  Status listen(const std::string& addr, uint16_t port);
  void start();
  void stop();
  uint16_t port() const { return port_; }
  std::string localAddr() const;
  rdma::Provider* provider() const { return provider_; }

 private:
  void run();
  rdma::Provider* provider_;
  EndpointOptions opts_;
  OnAccept on_accept_;
  std::shared_ptr<rdma::CmChannel> ch_;
  std::shared_ptr<rdma::CmId> id_;
  std::mutex mu_;
  std::map<rdma::CmId*, std::weak_ptr<Endpoint>> endpoints_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace sd::smbdirect
