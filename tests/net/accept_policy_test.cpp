// TcpListener::accept's decisions on each errno (net/accept_policy.hpp): which errors it skips,
// which it waits out with a backoff (EMFILE and ENFILE, and ENOBUFS and ENOMEM, which a retry at
// once would turn into a spin for as long as the kernel is short), and which it returns; and the
// backoff's waits. EMFILE is provoked for real in tcp_emfile_test.cpp; the kernel's ENOBUFS and
// ENOMEM cannot be provoked from a test, so their path is checked here, on the decision.
#include "net/accept_policy.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>

namespace weft_test {
namespace {

using weft::detail::accept_error_action;
using weft::detail::AcceptBackoff;
using weft::detail::AcceptErrorAction;

TEST(AcceptPolicyTest, ResourceShortagesAreWaitedOutNotRetriedAtOnce) {
  for (int err : {EMFILE, ENFILE, ENOBUFS, ENOMEM}) {
    EXPECT_EQ(accept_error_action(err), AcceptErrorAction::kBackOff) << "errno " << err;
  }
}

TEST(AcceptPolicyTest, AConnectionThatDiedInTheBacklogIsSkipped) {
  for (int err : {ECONNABORTED, EPROTO, EINTR, ENETDOWN, ENOPROTOOPT,
#if defined(EHOSTDOWN) && defined(ENONET)  // Linux's; mingw's errno.h has neither
                  EHOSTDOWN, ENONET,
#endif
                  EHOSTUNREACH, ENETUNREACH}) {
    EXPECT_EQ(accept_error_action(err), AcceptErrorAction::kRetry) << "errno " << err;
  }
}

TEST(AcceptPolicyTest, ListenerFailuresAndShutdownAreReturned) {
  for (int err : {EBADF, EINVAL, ENOTSOCK, EOPNOTSUPP, EFAULT, ECANCELED, EPERM}) {
    EXPECT_EQ(accept_error_action(err), AcceptErrorAction::kFail) << "errno " << err;
  }
}

TEST(AcceptPolicyTest, BackoffStartsAtOneMillisecondAndDoublesUpTo100) {
  using std::chrono::milliseconds;
  AcceptBackoff b;
  const milliseconds expected[] = {milliseconds(1),  milliseconds(2),  milliseconds(4),
                                   milliseconds(8),  milliseconds(16), milliseconds(32),
                                   milliseconds(64), milliseconds(100), milliseconds(100)};
  for (milliseconds e : expected) EXPECT_EQ(b.next(), e);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(b.next(), milliseconds(100));
}

// A persistent shortage costs about 10 retries a second once the backoff is at its cap, not a
// spin: the first second of waits takes 16 retries at most.
TEST(AcceptPolicyTest, APersistentShortageRetriesAFewTimesASecond) {
  AcceptBackoff b;
  std::chrono::milliseconds waited{0};
  int retries = 0;
  while (waited < std::chrono::seconds(1)) {
    waited += b.next();
    ++retries;
  }
  EXPECT_LE(retries, 16);
}

}  // namespace
}  // namespace weft_test
