// I/O errors as weft::Status: the operation's name and the errno text, with the matching code
// (ECONNRESET -> Unavailable, EMFILE -> ResourceExhausted, ...). On Windows the Winsock error is
// first mapped to the errno of the same meaning, so codes and messages match Linux's.
#pragma once

#include <string_view>

#include "weft/status.hpp"

namespace weft::io {

weft::Status errno_status(std::string_view operation, int err);

}  // namespace weft::io
