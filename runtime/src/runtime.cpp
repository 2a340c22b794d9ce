// Runtime construction: the registry turns a variant name into a Scheduler<V> instantiation.
#include "weft/runtime.hpp"

#include <new>
#include <string>
#include <system_error>

#include "weft/status.hpp"
#include "scheduler/scheduler.hpp"
#include "weft/task/frame_pool.hpp"
#include "weft/variants/registry.hpp"

namespace weft {

namespace {
std::string joined(std::span<const std::string_view> names, std::string_view sep) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += sep;
    out += n;
  }
  return out;
}
}  // namespace

std::span<const std::string_view> Runtime::variants() {
  static constexpr auto kNames = variants::AllVariants::names;
  return kNames;
}

weft::StatusOr<std::unique_ptr<Runtime>> Runtime::create(RuntimeOptions options) {
  if (options.flavor == Flavor::kCurrentThread) options.workers = 1;
  if (options.workers == 0) {
    return weft::InvalidArgumentError(
        "weft: workers=0; a multi_thread runtime needs 1 to 4096 workers");
  }
  if (options.workers > 4096) {
    return weft::InvalidArgumentError("weft: workers=" + std::to_string(options.workers) +
                                      "; a multi_thread runtime needs 1 to 4096 workers");
  }
  if (!variants::AllVariants::visit(options.variant, []<class V>() {})) {
    return weft::InvalidArgumentError("weft: unknown variant '" + options.variant +
                                      "'; valid variants: " + joined(variants(), ", "));
  }
  weft::StatusOr<std::shared_ptr<detail::Driver>> driver =
      detail::Driver::create(options.io, options.workers);
  if (!driver.ok()) return driver.status();
  std::unique_ptr<detail::SchedulerBase> scheduler;
  try {
    variants::AllVariants::visit(options.variant, [&]<class V>() {
      scheduler = std::make_unique<detail::Scheduler<V>>(options.workers, options.flavor,
                                                         *driver, options.steal);
    });
  } catch (const std::system_error& e) {
    return weft::ResourceExhaustedError("weft: cannot start " + std::to_string(options.workers) +
                                        " worker threads: " + e.what());
  } catch (const std::bad_alloc&) {
    return weft::ResourceExhaustedError("weft: out of memory creating " +
                                        std::to_string(options.workers) + " workers");
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
