// SMB Direct shell for the server: a listener on one RDMA provider (soft iWARP or rdma-core),
// and per connection a thread that hands each reassembled MS-SMBD message to the connection core,
// with a Transport adapter that sends through the endpoint and does the RDMA transfers of
// READ/WRITE channels. The MS-SMBD protocol itself lives in smbdirect/.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/tcp_server.h"
#include "smbdirect/listener.h"

namespace sd::runtime {

class RdmaServer {
 public:
  using Factory = TcpServer::Factory;
  explicit RdmaServer(Factory factory);
  ~RdmaServer();
  // Listens on addr:port ("" = every address) of `provider`.
  Status listen(rdma::Provider* provider, const std::string& addr, uint16_t port,
                const smbdirect::EndpointOptions& opts, uint32_t max_connections);
  void start();
  void stop();
  uint16_t boundPort() const { return listener_ ? listener_->port() : 0; }
  size_t connectionCount() const { return live_.load(); }

 private:
  struct Conn;
  void serve(std::shared_ptr<smbdirect::Endpoint> ep);
  Factory factory_;
  std::unique_ptr<smbdirect::Listener> listener_;
  uint32_t max_connections_ = 0;
  std::mutex mu_;
  std::vector<std::weak_ptr<smbdirect::Endpoint>> endpoints_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> live_{0};
};

}  // namespace sd::runtime
