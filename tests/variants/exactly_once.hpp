// Helpers shared by the per-queue tests: items whose every take is counted (so each test can
// check that every item was taken exactly once, per item), a move-only item that counts its
// release, and whether this build runs under a sanitizer (tests shrink their sizes there).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <utility>
#include <vector>

namespace weft_test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// One flag per item; items are pointers to flags.
struct Item {
  std::atomic<int> taken{0};
};

class Items {
 public:
  explicit Items(std::size_t n) : items_(n) {}
  Item* operator[](std::size_t i) { return &items_[i]; }
  std::size_t size() const { return items_.size(); }
  std::size_t index(const Item* i) const { return static_cast<std::size_t>(i - items_.data()); }

  // Marks `item` taken; counts a second take (checked per item at the end too).
  void take(Item* item) {
    if (item->taken.fetch_add(1) != 0) {
      doubles_.fetch_add(1);
    }
    total_.fetch_add(1);
  }
  std::size_t total() const { return total_.load(); }

  void expect_each_taken_once() const {
    EXPECT_EQ(doubles_.load(), 0u) << "items taken twice";
    std::size_t bad = 0;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const int n = items_[i].taken.load();
      if (n != 1 && ++bad <= 5) ADD_FAILURE() << "item " << i << " taken " << n << " times";
    }
    EXPECT_EQ(bad, 0u) << "items not taken exactly once";
  }

 private:
  std::vector<Item> items_;
  std::atomic<std::size_t> total_{0};
  std::atomic<std::size_t> doubles_{0};
};

// A move-only item that counts its release: the destructor of an object that still owns the
// item bumps releases[id]. Moved-from objects own nothing.
class Tracked {
 public:
  Tracked(std::size_t id, std::atomic<int>* releases) : id_(id), releases_(releases) {}
  Tracked(Tracked&& o) noexcept : id_(o.id_), releases_(std::exchange(o.releases_, nullptr)) {}
  Tracked& operator=(Tracked&&) = delete;
  ~Tracked() {
    if (releases_ != nullptr) releases_[id_].fetch_add(1);
  }
  std::size_t id() const { return id_; }

 private:
  std::size_t id_;
  std::atomic<int>* releases_;
};

}  // namespace weft_test
