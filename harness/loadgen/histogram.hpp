// LatencyHistogram: a log-linear histogram of nanosecond latencies, laid out like HdrHistogram
// (Gil Tene, hdrhistogram.org) with 3 significant decimal digits.
//
// Layout. Values are split into buckets by their highest set bit; each bucket is divided into
// linear sub-buckets. Bucket 0 holds 0..2047 with width 1 (exact); bucket b >= 1 holds
// [1024 << b, 2048 << b) in 1024 sub-buckets of width 2^b. So every recorded value is known to
// within 2^b / (1024 << b) = 1/1024 < 0.1% of itself: 3 significant digits, the same sub-bucket
// count (2048) that HdrHistogram uses for 3 digits.
//
//   bucket b   covers (ns)                   width (ns)   counts index
//   0          0 .. 2047                     1            0 .. 2047
//   1          2048 .. 4095                  2            2048 .. 3071
//   b >= 1     1024*2^b .. 2048*2^b - 1      2^b          (b+1)*1024 .. (b+2)*1024 - 1
//   26         68.7 s .. 137.4 s             67 ms        27648 .. 28671  (kHighestTrackable)
//
// The trackable range is 0 ns .. 100 s (1 us .. 100 s is the range that matters for an echo
// round trip); a value above 100 s is counted at 100 s, and max() still reports it exactly.
// 28,672 counters of 8 bytes: 224 KiB per histogram, one per client thread, merged at the end.
//
// Percentiles use the nearest-rank definition: value_at_percentile(p) is the smallest recorded
// value v (reported as the highest value equivalent to v's sub-bucket, capped at max()) such that
// at least ceil(p/100 * count) recorded values are <= v. Not thread-safe: one owner at a time.
#pragma once

#include <cstdint>
#include <vector>

namespace weft::loadgen {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 11;                                  // 2048 sub-buckets
  static constexpr std::int64_t kSubBucketHalf = 1 << (kSubBucketBits - 1);  // 1024
  static constexpr std::int64_t kHighestTrackable = 100'000'000'000;         // 100 s in ns
  // Upper bound of |reported - true| / true for any value >= 2048 (below that, exact).
  static constexpr double kRelativeError = 1.0 / kSubBucketHalf;

  LatencyHistogram();

  void record(std::int64_t value_ns);
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  std::int64_t min() const { return count_ == 0 ? 0 : min_; }
  std::int64_t max() const { return max_; }
  double mean() const;
  // p in [0, 100]; 0 for an empty histogram.
  std::int64_t value_at_percentile(double p) const;

  // The sub-bucket a value falls into, as [lowest, highest] equivalent values.
  static std::int64_t lowest_equivalent(std::int64_t value);
  static std::int64_t highest_equivalent(std::int64_t value);

 private:
  static std::size_t index_of(std::int64_t value);
  static std::int64_t value_at_index(std::size_t index);

  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  double sum_ = 0.0;  // of the recorded (unclamped) values, for mean()
};

}  // namespace weft::loadgen
