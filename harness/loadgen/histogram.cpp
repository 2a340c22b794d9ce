// LatencyHistogram's index arithmetic, recording, merging and percentiles (see histogram.hpp).
#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace weft::loadgen {
namespace {

constexpr std::int64_t kSubBucketMask = (std::int64_t{1} << LatencyHistogram::kSubBucketBits) - 1;
constexpr int kHalfBits = LatencyHistogram::kSubBucketBits - 1;

// Bucket b holds the values whose highest set bit is bit b + 10 (bucket 0: everything < 2048).
int bucket_of(std::int64_t value) {
  const int top_bit = 63 - std::countl_zero(static_cast<std::uint64_t>(value | kSubBucketMask));
  return top_bit - kHalfBits;
}

}  // namespace

std::size_t LatencyHistogram::index_of(std::int64_t value) {
  const int b = bucket_of(value);
  const std::int64_t sub = value >> b;  // [0, 2048) in bucket 0, [1024, 2048) above
  return static_cast<std::size_t>((std::int64_t{b} << kHalfBits) + sub);
}

std::int64_t LatencyHistogram::value_at_index(std::size_t index) {
  const auto i = static_cast<std::int64_t>(index);
  if (i < 2 * kSubBucketHalf) return i;
  const int b = static_cast<int>(i >> kHalfBits) - 1;
  const std::int64_t sub = (i & (kSubBucketHalf - 1)) + kSubBucketHalf;
  return sub << b;
}

std::int64_t LatencyHistogram::lowest_equivalent(std::int64_t value) {
  return value_at_index(index_of(std::clamp<std::int64_t>(value, 0, kHighestTrackable)));
}

std::int64_t LatencyHistogram::highest_equivalent(std::int64_t value) {
  const std::int64_t v = std::clamp<std::int64_t>(value, 0, kHighestTrackable);
  return lowest_equivalent(v) + (std::int64_t{1} << bucket_of(v)) - 1;
}

LatencyHistogram::LatencyHistogram() : counts_(index_of(kHighestTrackable) + 1, 0) {}

void LatencyHistogram::record(std::int64_t value_ns) {
  const std::int64_t v = std::max<std::int64_t>(value_ns, 0);
  ++counts_[index_of(std::min(v, kHighestTrackable))];
  min_ = count_ == 0 ? v : std::min(min_, v);
  max_ = std::max(max_, v);
  ++count_;
  sum_ += static_cast<double>(v);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

std::int64_t LatencyHistogram::value_at_percentile(double p) const {
  if (count_ == 0) return 0;
  const double clamped = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(clamped / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_equivalent(value_at_index(i)), max_);
  }
  return max_;
}

}  // namespace weft::loadgen
