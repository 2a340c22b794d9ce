// Waker: a type-erased handle that makes a suspended task (or a blocked thread) runnable again.
//
// Like Rust's RawWaker: a data pointer, one word of extra data and a vtable. A task's waker
// carries the task header and the *suspension epoch* it was made in, so a wake that arrives after
// the task has moved on to another suspension point is a no-op instead of a spurious resume.
// Waking is legal from any thread; `wake_by_ref` never touches the task's reference count.
#pragma once

#include <cstdint>
#include <utility>

namespace weft {

struct WakerVTable {
  void (*wake_by_ref)(void* data, std::uint32_t aux);
  void (*clone)(void* data);  // take one more reference on `data`
  void (*drop)(void* data);   // give one back
};

class Waker {
 public:
  Waker() = default;
  Waker(void* data, std::uint32_t aux, const WakerVTable* vtable)
      : data_(data), vtable_(vtable), aux_(aux) {}
  Waker(const Waker& other) : data_(other.data_), vtable_(other.vtable_), aux_(other.aux_) {
    if (vtable_ != nullptr) vtable_->clone(data_);
  }
  Waker(Waker&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        vtable_(std::exchange(other.vtable_, nullptr)),
        aux_(other.aux_) {}
  Waker& operator=(Waker other) noexcept {
    std::swap(data_, other.data_);
    std::swap(aux_, other.aux_);
    std::swap(vtable_, other.vtable_);
    return *this;
  }
  ~Waker() { reset(); }

  explicit operator bool() const { return vtable_ != nullptr; }

  void wake_by_ref() const {
    if (vtable_ != nullptr) vtable_->wake_by_ref(data_, aux_);
  }
  // Wakes and releases this waker.
  void wake() {
    wake_by_ref();
    reset();
  }
  void reset() {
    if (vtable_ != nullptr) vtable_->drop(data_);
    data_ = nullptr;
    vtable_ = nullptr;
  }
  // The parts, for storing a waker compactly (TaskHeader's join slot). into_raw() gives up
  // ownership of the reference; from_raw() takes it back.
  void* raw_data() const { return data_; }
  std::uint32_t raw_aux() const { return aux_; }
  const WakerVTable* raw_vtable() const { return vtable_; }
  void release_raw() {
    data_ = nullptr;
    vtable_ = nullptr;
  }

  // True if both wake the same target at the same suspension.
  bool will_wake(const Waker& other) const {
    return data_ == other.data_ && aux_ == other.aux_ && vtable_ == other.vtable_;
  }

 private:
  void* data_ = nullptr;
  const WakerVTable* vtable_ = nullptr;
  std::uint32_t aux_ = 0;
};

}  // namespace weft
