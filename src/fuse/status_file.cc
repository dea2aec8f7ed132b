#include "base/thread_name.h"
#include "fuse/status_file.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

namespace sd::fuse {

std::string statusDir() {
  if (geteuid() == 0) return "/run/smbdirect";
  if (const char* x = getenv("XDG_RUNTIME_DIR")) return std::string(x) + "/smbdirect";
  return "/tmp/smbdirect-" + std::to_string(getuid());
}

StatusPublisher::StatusPublisher(std::function<std::string()> report) : report_(std::move(report)) {
  std::string dir = statusDir();
  mkdir(dir.c_str(), 0755);
  path_ = dir + "/" + std::to_string(getpid());
  writeOnce();
  thread_ = std::thread([this] {
    setThreadName("sd-status");
    while (!stop_) {
      for (int i = 0; i < 10 && !stop_; i++) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!stop_) writeOnce();
    }
  });
}

StatusPublisher::~StatusPublisher() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  unlink(path_.c_str());
}

void StatusPublisher::writeOnce() {
  std::string tmp = path_ + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) return;
    f << report_();
  }
  rename(tmp.c_str(), path_.c_str());
}

int statusMain() {
  std::string dir = statusDir();
  DIR* d = opendir(dir.c_str());
  int shown = 0;
  if (d) {
    std::vector<std::string> names;
    for (int i = 0; i < 10000; i++) {
      dirent* e = readdir(d);
      if (!e) break;
      std::string n = e->d_name;
      if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) continue;
      names.push_back(n);
    }
    closedir(d);
    for (const auto& n : names) {
      pid_t pid = pid_t(std::atol(n.c_str()));
      if (kill(pid, 0) != 0 && errno == ESRCH) {
        unlink((dir + "/" + n).c_str());  // a mount that died without cleaning up
        continue;
      }
      std::ifstream f(dir + "/" + n);
      std::stringstream ss;
      ss << f.rdbuf();
      if (shown++) std::printf("\n");
      std::printf("%s", ss.str().c_str());
    }
  }
  if (!shown) std::printf("No smbdirect mounts (reports are read from %s).\n", dir.c_str());
  return 0;
}

}  // namespace sd::fuse
