// Server-side message-id window and credit accounting (MS-SMB2 3.3.1.1, 3.3.5.2.3, 3.3.5.2.5).
// Sans-I/O; owned by one connection (not thread-safe).
#pragma once
#include <cstdint>
#include <vector>

#include "base/result.h"

namespace sd::smb2 {

class CreditWindow {
 public:
  // `max_credits`: the most credits a client may hold (ksmbd's default "smb2 max credits" 8192).
  explicit CreditWindow(uint32_t max_credits = 8192);
  // Validates and consumes message ids [id, id + max(charge,1)); ids outside the window or
  // already used fail (the caller disconnects, MS-SMB2 3.3.5.2.3).
  Status consume(uint64_t message_id, uint16_t credit_charge);
  // Credits to grant in the response: at least 1, at most what keeps the client's balance
  // within max_credits; extends the window by the amount granted.
  uint16_t grant(uint16_t credit_request, uint16_t credit_charge);
  uint32_t outstanding() const { return balance_; }

 private:
  uint64_t low_ = 0;          // lowest id not yet used
  std::vector<bool> used_;    // ids [low_, low_ + used_.size()) that are used
  uint32_t balance_ = 1;      // ids the client may still send: [low_, low_ + balance_) minus used
  uint32_t max_;
};

}  // namespace sd::smb2
