// weft_cpp.h's borrowed handles: an MtRuntime on a weft::Runtime that C++ code owns. The handle
// has no `owned` runtime, which is how mt_runtime_destroy tells it apart (c_internal.hpp).
#include "c_internal.hpp"
#include "weft_cpp.h"

namespace weft::capi {

BorrowedRuntime::BorrowedRuntime(weft::Runtime& runtime)
    : handle_(new MtRuntime{.owned = nullptr, .rt = &runtime}) {}

BorrowedRuntime::~BorrowedRuntime() { delete handle_; }

}  // namespace weft::capi
