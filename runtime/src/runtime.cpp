// Runtime construction: the registry turns a variant name into a Scheduler<V> instantiation.
#include "weft/runtime.hpp"

#include <new>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "scheduler/scheduler.hpp"
#include "weft/task/frame_pool.hpp"
#include "weft/variants/registry.hpp"

namespace weft {

std::span<const std::string_view> Runtime::variants() {
  static constexpr auto kNames = variants::AllVariants::names;
  return kNames;
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::create(RuntimeOptions options) {
  if (options.flavor == Flavor::kCurrentThread) options.workers = 1;
  if (options.workers == 0) {
    return absl::InvalidArgumentError(
        "weft: workers=0; a multi_thread runtime needs 1 to 4096 workers");
  }
  if (options.workers > 4096) {
    return absl::InvalidArgumentError("weft: workers=" + std::to_string(options.workers) +
                                      "; a multi_thread runtime needs 1 to 4096 workers");
  }
  if (!variants::AllVariants::visit(options.variant, []<class V>() {})) {
    return absl::InvalidArgumentError("weft: unknown variant '" + options.variant +
                                      "'; valid variants: " + fmt::format("{}", fmt::join(variants(), ", ")));
  }
  absl::StatusOr<std::shared_ptr<detail::Driver>> driver =
      detail::Driver::create(options.io, options.workers);
  if (!driver.ok()) return driver.status();
  std::unique_ptr<detail::SchedulerBase> scheduler;
  try {
    variants::AllVariants::visit(options.variant, [&]<class V>() {
      scheduler = std::make_unique<detail::Scheduler<V>>(options.workers, options.flavor,
                                                         *driver, options.steal);
    });
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(fmt::format(
        "weft: cannot start {} worker threads: {}", options.workers, e.what()));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        fmt::format("weft: out of memory creating {} workers", options.workers));
  }
  return std::unique_ptr<Runtime>(new Runtime(std::move(options), std::move(scheduler)));
}

Runtime::Runtime(RuntimeOptions options, std::unique_ptr<detail::SchedulerBase> scheduler)
    : options_(std::move(options)), scheduler_(std::move(scheduler)) {}

Runtime::~Runtime() {
  shutdown();
  scheduler_.reset();  // joins the workers, whose frame pools flow to the central list
  detail::CentralFreeList::instance().trim();
}

RuntimeStats Runtime::stats() const {
  RuntimeStats s = scheduler_->stats();
  s.io = scheduler_->driver().io().stats();
  return s;
}

ShutdownReport Runtime::shutdown(std::chrono::nanoseconds deadline) {
  if (detail::context().scheduler == scheduler_.get()) {
    throw std::logic_error("weft: Runtime::shutdown called from one of its own tasks");
  }
  return scheduler_->shutdown(deadline);
}

}  // namespace weft
