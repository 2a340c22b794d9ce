// Drives an echo server with weft-loadgen (harness/loadgen), a process of its own: the same client
// for Weft's in-process server, weft-echo and the peers' servers (harness/peers).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/subprocess.hpp"
#include "workload.hpp"

namespace weft::workloads {

// Runs weft-loadgen against 127.0.0.1:`port` for the echo `shape` ("closed" or "open") with the
// echo workload's `params`, to the end. `server_cpu` reads the server's CPU times; it is called
// as the load generator's measurement window opens and closes, so server_cpu_us_per_msg covers
// the window alone. The result's units are echoed messages, timed over that window. A non-empty
// `source` is the local address every client connection binds to (weft-loadgen --source).
absl::StatusOr<RunResult> drive_echo_client(std::uint16_t port, std::string_view shape,
                                            const Params& params,
                                            const std::function<CpuTimes()>& server_cpu,
                                            const std::string& source = "");

}  // namespace weft::workloads
