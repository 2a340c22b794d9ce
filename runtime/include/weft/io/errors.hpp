// I/O errors as absl::Status: the operation's name and the errno text, with the matching code
// (ECONNRESET -> Unavailable, EMFILE -> ResourceExhausted, ...).
#pragma once

#include <cstring>
#include <string>

#include "absl/status/status.h"

namespace weft::io {

inline absl::Status errno_status(std::string_view operation, int err) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      "weft: " + std::string(operation) + ": " + std::strerror(err));
}

}  // namespace weft::io
