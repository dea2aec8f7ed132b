#include "client/progress.h"

#include <time.h>

namespace sd::client {

namespace {
double nowSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}
}  // namespace

Progress::Progress(std::string label, uint64_t total, bool enabled, FILE* out)
    : label_(std::move(label)), total_(total), enabled_(enabled), out_(out), start_(nowSeconds()) {}

Progress::~Progress() { finish(); }

std::string Progress::humanBytes(double b) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    u++;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, kUnits[u]);
  return buf;
}

std::string Progress::humanDuration(double s) {
  if (s < 0 || s > 360000) return "--:--";
  long t = long(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  return buf;
}

std::string Progress::line(double elapsed) const {
  double rate = elapsed > 0 ? double(done_) / elapsed : 0;
  char buf[256];
  if (total_) {
    double frac = double(done_) / double(total_);
    if (frac > 1) frac = 1;
    int width = 24, fill = int(frac * width);
    std::string bar(size_t(fill), '#');
    bar.append(size_t(width - fill), '.');
    double eta = rate > 0 ? double(total_ - (done_ < total_ ? done_ : total_)) / rate : -1;
    std::snprintf(buf, sizeof buf, "%s [%s] %3d%% %s/%s %s/s ETA %s", label_.c_str(), bar.c_str(),
                  int(frac * 100), humanBytes(double(done_)).c_str(),
                  humanBytes(double(total_)).c_str(), humanBytes(rate).c_str(),
                  humanDuration(eta).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%s %s %s/s", label_.c_str(), humanBytes(double(done_)).c_str(),
                  humanBytes(rate).c_str());
  }
  return buf;
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  double now = nowSeconds();
  if (!force && now - last_draw_ < 0.2) return;
  last_draw_ = now;
  std::fprintf(out_, "\r\033[K%s", line(now - start_).c_str());
  std::fflush(out_);
}

void Progress::advance(uint64_t bytes) {
  done_ += bytes;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  draw(true);
  std::fputc('\n', out_);
}

}  // namespace sd::client
