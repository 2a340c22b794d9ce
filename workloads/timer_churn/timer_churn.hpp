#pragma once

#include "workload.hpp"

namespace weft::workloads {

// The timer wheel under load: request-timeout churn, a million timers, lateness under CPU load.
std::unique_ptr<Workload> make_timer_churn();

}  // namespace weft::workloads
