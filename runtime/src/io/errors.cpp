// errno_status (weft/io/errors.hpp): the same code and text for an errno on every platform.
#include "weft/io/errors.hpp"

#include <string>

#include "net/sys.hpp"

namespace weft::io {

weft::Status errno_status(std::string_view operation, int err) {
  return weft::Status(weft::ErrnoToStatusCode(err),
                      "weft: " + std::string(operation) + ": " + net::sys::error_text(err));
}

}  // namespace weft::io
