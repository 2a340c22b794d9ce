// spawn_storm: the scheduler's raw task throughput, in the shapes of Tokio's rt_multi_threaded
// benchmarks at larger sizes.
//
//   flat        `tasks` trivial tasks spawned from one task
//   flat_c      flat written against the C ABI (weft.h; flat_c.c): the boundary's cost
//   remote      `tasks` trivial tasks spawned from a thread outside the runtime
//   tree        skynet: a `fanout`-ary tree of tasks with `leaves` leaves summing their ids
//   yield_many  `yield_tasks` tasks that each yield `yields` times (unit: one poll)
//   ping_pong   `pairs` pairs of tasks exchanging two messages (unit: one task)
//   chained     each task spawns the next, `tasks` deep
#pragma once

#include <memory>

#include "workload.hpp"

namespace weft::workloads {

std::unique_ptr<Workload> make_spawn_storm();

}  // namespace weft::workloads
