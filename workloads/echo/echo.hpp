#pragma once

#include "workload.hpp"

namespace weft::workloads {

// TCP echo server under the runtime, driven by weft-loadgen (a separate process).
std::unique_ptr<Workload> make_echo();

}  // namespace weft::workloads
