// The registry: the one place that turns a variant name into a type.
#include "weft/variants/registry.hpp"

#include <set>
#include <string>
#include <string_view>

#include "variants/variant_types.hpp"
#include "weft/variants/concepts.hpp"

namespace weft_test {
namespace {

using weft::variants::AllVariants;

TEST(VariantRegistry, NamesAreNonEmptyAndUnique) {
  std::set<std::string_view> seen;
  for (std::string_view name : AllVariants::names) {
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(seen.insert(name).second) << "duplicate variant name " << name;
  }
  EXPECT_EQ(seen.size(), AllVariants::size);
  EXPECT_EQ(seen.count("mutex"), 1u) << "the baseline variant is always registered";
}

TEST(VariantRegistry, VisitFindsEveryNamedVariantAsItsOwnType) {
  for (std::string_view name : AllVariants::names) {
    int calls = 0;
    std::string_view visited;
    const bool found = AllVariants::visit(name, [&]<class V>() {
      static_assert(weft::variants::Variant<V>);
      ++calls;
      visited = V::name;
    });
    EXPECT_TRUE(found) << name;
    EXPECT_EQ(calls, 1) << name;
    EXPECT_EQ(visited, name);
  }
}

TEST(VariantRegistry, VisitRejectsAnUnknownName) {
  for (std::string_view bad : {"", "no_such_variant", "MUTEX", "mutex "}) {
    int calls = 0;
    EXPECT_FALSE(AllVariants::visit(bad, [&]<class V>() { ++calls; })) << "'" << bad << "'";
    EXPECT_EQ(calls, 0);
  }
}

// Every registered variant satisfies the Variant concept (compile time) and names a steal
// policy with sane parameters.
template <class V>
class VariantPolicyTest : public ::testing::Test {};
TYPED_TEST_SUITE(VariantPolicyTest, EveryVariant, VariantName);

TYPED_TEST(VariantPolicyTest, SatisfiesTheVariantConceptAndHasASaneStealPolicy) {
  using V = TypeParam;
  static_assert(weft::variants::Variant<V>);
  constexpr weft::variants::StealConfig steal = V::Steal::config();
  EXPECT_GE(steal.max_rounds, 1u);
  EXPECT_FALSE(to_string(steal.amount).empty());
  std::uint64_t rng = 0x9E3779B97F4A7C15ULL;
  for (std::size_t n : {1u, 2u, 4u, 7u}) {
    for (std::size_t self = 0; self < n; ++self) {
      for (int i = 0; i < 32; ++i) EXPECT_LT(steal.first_victim(self, n, rng), n);
    }
  }
  for (std::size_t round = 0; round < steal.max_rounds; ++round) steal.backoff_after(round);
}

TEST(StealCount, HalfRoundsUpAndIsCappedAtTheBatchSize) {
  using weft::variants::kMaxBatch;
  using weft::variants::steal_count;
  EXPECT_EQ(steal_count(0, true), 0u);
  EXPECT_EQ(steal_count(0, false), 0u);
  EXPECT_EQ(steal_count(1, true), 1u);
  EXPECT_EQ(steal_count(5, true), 3u);
  EXPECT_EQ(steal_count(5, false), 1u);
  EXPECT_EQ(steal_count(2 * kMaxBatch, true), kMaxBatch);
  EXPECT_EQ(steal_count(10 * kMaxBatch, true), kMaxBatch);
}

}  // namespace
}  // namespace weft_test
