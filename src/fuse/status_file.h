// `smbdirect status`: each mount process publishes its connection report (SmbClient::statusText)
// in a file named after its pid under statusDir(), refreshed every second and removed at unmount;
// the command prints the reports of live mounts (the role of cifs.ko's /proc/fs/cifs/DebugData).
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace sd::fuse {

std::string statusDir();  // /run/smbdirect for root, else $XDG_RUNTIME_DIR/smbdirect or /tmp/smbdirect-UID

class StatusPublisher {
 public:
  explicit StatusPublisher(std::function<std::string()> report);
  ~StatusPublisher();  // stops and removes the file

 private:
  void writeOnce();
  std::function<std::string()> report_;
  std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Prints every live mount's report to stdout; returns the process exit code.
int statusMain();

}  // namespace sd::fuse
