// The one JSON line weft-loadgen prints on stdout at the end of a run.
//
//   {"mode":"closed","connections":1000,"msg_size":64,"duration_s":5.0,"msgs":1234567,
//    "msgs_per_s":246913.4,"latency_p50_us":41.215,"latency_p99_us":...,"latency_p999_us":...,
//    "latency_max_us":...,"errors":0,"offered_rate":0}
//
// msgs and the latencies cover the measurement window only; msgs_per_s is msgs / duration_s;
// latencies are in microseconds (histogram.hpp: within 0.1%); offered_rate is --rate in open
// mode, 0 in closed mode. Keys are fixed and always present, in this order.
#pragma once

#include <string>

#include "config.hpp"
#include "run_stats.hpp"

namespace weft::loadgen {

std::string json_line(const LoadConfig& config, const RunStats& stats);

}  // namespace weft::loadgen
