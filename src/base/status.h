// Status and StatusOr: the error model of inferd. Every run-time failure (bad request, I/O, model
// load) travels as a Status; no exception crosses a module boundary. Thread-safety: value types;
// distinct objects may be used from different threads freely.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace inferd::base {

// Codes are protocol-neutral; api/status_map.h maps them to HTTP and gRPC codes.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller sent something malformed (HTTP 400)
  kNotFound,            // unknown model, version or route (404)
  kAlreadyExists,       // (409)
  kFailedPrecondition,  // valid request, wrong state of the system (400)
  kUnavailable,         // model not ready, server draining (503)
  kResourceExhausted,   // a limit was hit (queue full: 503 / 429)
  kPayloadTooLarge,     // request body over the configured limit (413)
  kUnimplemented,       // (501)
  kDeadlineExceeded,    // (504)
  kUnauthenticated,     // (401)
  kPermissionDenied,    // (403)
  kDataLoss,            // corrupt file (500 when it reaches a client)
  kInternal,            // a bug (500)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: message", for logs.
  std::string ToString() const;
  // Returns a copy with `prefix: ` put before the message.
  Status WithContext(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, std::string_view msg);

// StatusOr<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.ok()) CheckFailed(__FILE__, __LINE__, "!status.ok()", "StatusOr built from OK");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  template <typename U, typename = std::enable_if_t<std::is_convertible_v<U&&, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status> &&
                                                    !std::is_same_v<std::decay_t<U>, T>>>
  StatusOr(U&& value) : value_(T(std::forward<U>(value))) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & { return Checked(); }
  const T& value() const& { return const_cast<StatusOr*>(this)->Checked(); }
  T&& value() && { return std::move(Checked()); }
  T& operator*() & { return Checked(); }
  const T& operator*() const& { return const_cast<StatusOr*>(this)->Checked(); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &const_cast<StatusOr*>(this)->Checked(); }

 private:
  T& Checked() {
    if (!value_) CheckFailed(__FILE__, __LINE__, "ok()", status_.ToString());
    return *value_;
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace inferd::base

#define INFERD_CONCAT_INNER(a, b) a##b
#define INFERD_CONCAT(a, b) INFERD_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)            \
  do {                                   \
    ::inferd::base::Status _st = (expr); \
    if (!_st.ok()) return _st;           \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  INFERD_ASSIGN_OR_RETURN_IMPL(INFERD_CONCAT(_status_or_, __LINE__), lhs, expr)
#define INFERD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

// Broken invariants abort with a message; they are bugs, not run-time errors.
#define CHECK(cond) ((cond) ? (void)0 : ::inferd::base::CheckFailed(__FILE__, __LINE__, #cond, ""))
#define CHECK_MSG(cond, msg) \
  ((cond) ? (void)0 : ::inferd::base::CheckFailed(__FILE__, __LINE__, #cond, (msg)))
