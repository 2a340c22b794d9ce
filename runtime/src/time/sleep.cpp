// The runtime's timers as weft::Sleep reaches them (time/sleep.hpp), out of line so that the
// wheel and the Driver stay private headers.
#include "weft/time/sleep.hpp"

#include <stdexcept>

#include "scheduler/driver.hpp"

namespace weft::detail {

Driver& bind_timer(std::chrono::steady_clock::time_point t, std::uint64_t* ns) {
  SchedulerBase* s = context().scheduler;
  if (s == nullptr) throw std::logic_error("weft: sleep used outside a runtime's task");
  Driver& driver = s->driver();
  *ns = driver.timers().to_ns(t);
  return driver;
}

std::uint64_t timer_now_ns(Driver& driver) { return driver.timers().now_ns(); }

void insert_timer(Driver& driver, time::TimerEntry& entry, std::size_t shard) {
  driver.insert_timer(entry, shard);
}

void cancel_timer(Driver& driver, time::TimerEntry& entry, std::size_t shard) {
  driver.cancel_timer(entry, shard);
}

}  // namespace weft::detail
