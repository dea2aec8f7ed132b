// Result<T>: a value or an Error, with std::expected's surface (has_value, value, error, *, ->).
// Owned by base/; header-only; any thread. No exceptions anywhere in src/ (docs/ARCHITECTURE.md).
#pragma once
#include <cstdint>
#include <type_traits>
#include <utility>
#include <variant>

#include "base/nt_status.h"

namespace sd {

// How far an error reaches: only the current request, or the whole connection (malformed framing,
// a signature failure, a protocol violation the peer cannot recover from).
enum class Severity : uint8_t { kRequest, kConnection };

struct Error {
  NtStatus status = NtStatus::kUnsuccessful;
  Severity severity = Severity::kRequest;
  const char* what = "";  // static string for logs; never sent on the wire
};

inline Error err(NtStatus s, const char* what = "") { return Error{s, Severity::kRequest, what}; }
inline Error fatal(NtStatus s, const char* what = "") { return Error{s, Severity::kConnection, what}; }
// The usual decode failure: a field or an offset/length pair points outside the PDU.
inline Error malformed(const char* what = "malformed") {
  return Error{NtStatus::kInvalidParameter, Severity::kRequest, what};
}

template <class T>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  Result(const T& v) : v_(std::in_place_index<0>, v) {}
  Result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
  Result(Error e) : v_(std::in_place_index<1>, e) {}
  template <class U, class = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                              !std::is_same_v<std::decay_t<U>, Error> &&
                                              !std::is_same_v<std::decay_t<U>, Result>>>
  Result(U&& u) : v_(std::in_place_index<0>, std::forward<U>(u)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  NtStatus status() const { return has_value() ? NtStatus::kSuccess : error().status; }
  template <class U>
  T value_or(U&& d) const& { return has_value() ? value() : static_cast<T>(std::forward<U>(d)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;
  Result() = default;
  Result(Error e) : ok_(false), e_(e) {}
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const {}
  const Error& error() const { return e_; }
  NtStatus status() const { return ok_ ? NtStatus::kSuccess : e_.status; }

 private:
  bool ok_ = true;
  Error e_{};
};

using Status = Result<void>;
inline Status ok() { return Status(); }

}  // namespace sd

// SD_TRY(expr): evaluates a Result; on error returns the Error from the enclosing function
// (whose return type must be a Result<...>), otherwise yields the value.
#define SD_TRY(expr)                                           \
  ({                                                           \
    auto&& sd_try_r_ = (expr);                                 \
    if (!sd_try_r_.has_value()) return sd_try_r_.error();      \
    std::move(sd_try_r_).value();                              \
  })
// SD_CHECK(expr): for Status-returning calls whose value is not needed.
#define SD_CHECK(expr)                                         \
  do {                                                         \
    auto&& sd_chk_r_ = (expr);                                 \
    if (!sd_chk_r_.has_value()) return sd_chk_r_.error();      \
  } while (0)
