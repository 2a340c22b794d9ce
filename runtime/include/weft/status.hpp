// weft::Status and weft::StatusOr<T>: what every fallible call of the runtime returns.
//
// Where Abseil is there (Linux: the runtime, the harness and the tests all use it), they are
// absl::Status and absl::StatusOr, so code written against Abseil takes the runtime's results as
// they are. Where it is not (Windows through mingw-w64: Debian has no Abseil for it; any build
// with -DWEFT_NO_ABSL), they are weft::fallback's types (weft/status_fallback.hpp), which have the
// same names, codes and calls. The runtime's own code spells them weft::... so it builds either
// way. docs/platforms.md says why this and not std::error_code.
#pragma once

#if defined(WEFT_NO_ABSL)
#include "weft/status_fallback.hpp"
#define WEFT_STATUS_NS ::weft::fallback
#else
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#define WEFT_STATUS_NS ::absl
#endif

namespace weft {

using WEFT_STATUS_NS::Status;
using WEFT_STATUS_NS::StatusCode;
using WEFT_STATUS_NS::StatusOr;
using WEFT_STATUS_NS::OkStatus;
using WEFT_STATUS_NS::ErrnoToStatusCode;
using WEFT_STATUS_NS::CancelledError;
using WEFT_STATUS_NS::UnknownError;
using WEFT_STATUS_NS::InvalidArgumentError;
using WEFT_STATUS_NS::DeadlineExceededError;
using WEFT_STATUS_NS::NotFoundError;
using WEFT_STATUS_NS::AlreadyExistsError;
using WEFT_STATUS_NS::PermissionDeniedError;
using WEFT_STATUS_NS::ResourceExhaustedError;
using WEFT_STATUS_NS::FailedPreconditionError;
using WEFT_STATUS_NS::AbortedError;
using WEFT_STATUS_NS::OutOfRangeError;
using WEFT_STATUS_NS::UnimplementedError;
using WEFT_STATUS_NS::InternalError;
using WEFT_STATUS_NS::UnavailableError;
using WEFT_STATUS_NS::DataLossError;
using WEFT_STATUS_NS::UnauthenticatedError;
using WEFT_STATUS_NS::IsCancelled;
using WEFT_STATUS_NS::IsInvalidArgument;
using WEFT_STATUS_NS::IsDeadlineExceeded;
using WEFT_STATUS_NS::IsResourceExhausted;
using WEFT_STATUS_NS::IsFailedPrecondition;
using WEFT_STATUS_NS::IsUnavailable;

}  // namespace weft

#undef WEFT_STATUS_NS
