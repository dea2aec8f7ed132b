#include "smb2/credits.h"

#include <algorithm>

namespace sd::smb2 {

CreditWindow::CreditWindow(uint32_t max_credits) : max_(std::max<uint32_t>(max_credits, 1)) {}

Status CreditWindow::consume(uint64_t id, uint16_t charge) {
  uint64_t n = std::max<uint16_t>(charge, 1);
  // Without overflow: an id just below 2^64 is outside the window, not a wrap to its start.
  if (id < low_ || id - low_ >= balance_ || n > balance_ - (id - low_))
    return fatal(NtStatus::kInvalidParameter, "message id outside window");
  uint64_t rel = id - low_;
  if (used_.size() < rel + n) used_.resize(size_t(rel + n), false);
  for (uint64_t i = rel; i < rel + n; i++)
    if (used_[size_t(i)]) return fatal(NtStatus::kInvalidParameter, "message id reused");
  for (uint64_t i = rel; i < rel + n; i++) used_[size_t(i)] = true;
  // Slide the window past the used prefix.
  size_t k = 0;
  while (k < used_.size() && used_[k]) k++;
  if (k) {
    used_.erase(used_.begin(), used_.begin() + long(k));
    low_ += k;
    balance_ -= uint32_t(k);
  }
  return ok();
}

uint16_t CreditWindow::grant(uint16_t request, uint16_t charge) {
  uint32_t in_flight = balance_;  // ids still usable, including gaps
  uint32_t want = std::max<uint32_t>(request, 1);
  // Replace at least what was charged so that a client can always continue.
  want = std::max<uint32_t>(want, std::max<uint16_t>(charge, 1) > in_flight ? 1 : 0);
  uint32_t room = in_flight < max_ ? max_ - in_flight : 0;
  uint32_t g = std::min(want, room);
  if (g == 0 && in_flight == 0) g = 1;
  g = std::min<uint32_t>(g, 0xFFFF);
  balance_ += g;
  return uint16_t(g);
}

}  // namespace sd::smb2
