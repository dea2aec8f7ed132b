// Transfer progress for the CLI: a one-line bar with bytes, rate and ETA on a terminal, nothing
// otherwise. Owned by client/; one instance per transfer, called from one thread.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace sd::client {

class Progress {
 public:
  // `enabled` is usually isatty(fileno(out)); total 0 means unknown.
  Progress(std::string label, uint64_t total, bool enabled, FILE* out = stderr);
  ~Progress();
  void advance(uint64_t bytes);
  void finish();
  // Formatting helpers, exposed for tests.
  static std::string humanBytes(double bytes);
  static std::string humanDuration(double seconds);
  std::string line(double elapsed_s) const;

 private:
  void draw(bool force);
  std::string label_;
  uint64_t total_, done_ = 0;
  bool enabled_, finished_ = false;
  FILE* out_;
  double start_ = 0, last_draw_ = 0;
};

}  // namespace sd::client
