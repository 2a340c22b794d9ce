// weft::fallback's Status and StatusOr (weft/status_fallback.hpp), what weft::Status is where
// Abseil is not (Windows). Built on Linux as well, where weft::Status is absl::Status, so both
// are held to the same behaviour: the codes Abseil gives, its ToString format, StatusOr's rules.
#include "weft/status_fallback.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <sstream>
#include <string>

#include "weft/status.hpp"

namespace {

namespace fb = weft::fallback;

TEST(StatusFallback, OkAndErrorsCarryTheirCodeAndMessage) {
  EXPECT_TRUE(fb::OkStatus().ok());
  EXPECT_EQ(fb::OkStatus().ToString(), "OK");
  const fb::Status s = fb::InvalidArgumentError("weft: bad");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), fb::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "weft: bad");
  EXPECT_EQ(s.ToString(), "INVALID_ARGUMENT: weft: bad");
  EXPECT_TRUE(fb::IsInvalidArgument(s));
  EXPECT_FALSE(fb::IsFailedPrecondition(s));
  std::ostringstream os;
  os << fb::FailedPreconditionError("x");
  EXPECT_EQ(os.str(), "FAILED_PRECONDITION: x");
  EXPECT_EQ(fb::Status(fb::StatusCode::kOk, "dropped").message(), "");
}

TEST(StatusFallback, CodesAndTextsMatchAbseilsWhereAbseilIsThere) {
  for (int err : {ECONNRESET, EMFILE, ENOBUFS, ETIMEDOUT, ECANCELED, EINVAL, EPIPE, EBADF,
                  ECONNREFUSED, EADDRINUSE, EAGAIN, 0}) {
    EXPECT_EQ(static_cast<int>(fb::ErrnoToStatusCode(err)),
              static_cast<int>(weft::ErrnoToStatusCode(err)))
        << "errno " << err;
  }
  for (auto [fallback, real] :
       {std::pair{fb::DeadlineExceededError("m").ToString(),
                  std::string(weft::DeadlineExceededError("m").ToString())},
        std::pair{fb::ResourceExhaustedError("m").ToString(),
                  std::string(weft::ResourceExhaustedError("m").ToString())},
        std::pair{fb::UnavailableError("m").ToString(),
                  std::string(weft::UnavailableError("m").ToString())}}) {
    EXPECT_EQ(fallback, real);
  }
}

TEST(StatusFallback, StatusOrHoldsAValueOrAnError) {
  fb::StatusOr<int> v = 7;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  EXPECT_EQ(v.value(), 7);
  EXPECT_TRUE(v.status().ok());
  fb::StatusOr<int> e = fb::NotFoundError("none");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), fb::StatusCode::kNotFound);
  EXPECT_EQ(e.value_or(3), 3);
  fb::StatusOr<int> from_ok = fb::OkStatus();  // as Abseil: an OK status is no value
  EXPECT_FALSE(from_ok.ok());
  EXPECT_EQ(from_ok.status().code(), fb::StatusCode::kInternal);
}

struct Base {
  virtual ~Base() = default;
  virtual int id() const { return 1; }
};
struct Derived : Base {
  int id() const override { return 2; }
};

TEST(StatusFallback, StatusOrMovesAndConverts) {
  fb::StatusOr<std::unique_ptr<Derived>> d = std::make_unique<Derived>();
  fb::StatusOr<std::unique_ptr<Base>> b = std::move(d);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->id(), 2);
  std::unique_ptr<Base> taken = *std::move(b);
  EXPECT_EQ(taken->id(), 2);
  fb::StatusOr<std::unique_ptr<Derived>> err = fb::UnavailableError("gone");
  fb::StatusOr<std::unique_ptr<Base>> berr = std::move(err);
  EXPECT_FALSE(berr.ok());
  EXPECT_EQ(berr.status().message(), "gone");
  fb::StatusOr<std::string> s = std::string("text");
  EXPECT_EQ(s->size(), 4u);
}

TEST(StatusFallback, UpdateKeepsTheFirstError) {
  fb::Status s = fb::OkStatus();
  s.Update(fb::OkStatus());
  EXPECT_TRUE(s.ok());
  s.Update(fb::NotFoundError("first"));
  s.Update(fb::InternalError("second"));
  EXPECT_EQ(s.code(), fb::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "first");
}

TEST(StatusFallback, AStatusOrOfStatusHoldsAnyStatusAsItsValue) {
  const fb::StatusOr<fb::Status> ok = fb::OkStatus();
  const fb::StatusOr<fb::Status> err = fb::DeadlineExceededError("late");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->ok());
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->code(), fb::StatusCode::kDeadlineExceeded);
}

TEST(StatusFallbackDeathTest, ValueOfAnErrorAborts) {
  fb::StatusOr<int> e = fb::InternalError("boom");
  EXPECT_DEATH((void)e.value(), "boom");
}

}  // namespace
