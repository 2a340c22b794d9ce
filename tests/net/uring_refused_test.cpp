// Where the kernel refuses io_uring (kernel.io_uring_disabled, a seccomp filter, a container's
// policy), asking for it gives a clear error: Runtime::create fails with FailedPrecondition
// naming io_uring and the way out (io=epoll), never a crash or a silent switch to epoll. The
// refusal is real: a forked child installs a seccomp filter that fails io_uring_setup with EPERM.
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "weft/weft.hpp"

namespace {

// Fails io_uring_setup with EPERM for this process from now on; everything else is allowed.
bool refuse_io_uring() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

// In the child: 0 if every check holds, else the number of the failed check (printed too).
int child_checks() {
  if (!refuse_io_uring()) {
    std::perror("seccomp");
    return 1;
  }
  auto uring = weft::Runtime::create(weft::RuntimeOptions::multi_thread(2, "mutex", weft::IoBackend::kUring));
  if (uring.ok()) {
    std::fprintf(stderr, "Runtime::create with io=uring succeeded under the filter\n");
    return 2;
  }
  const std::string msg(uring.status().message());
  std::fprintf(stderr, "the refusal: %s\n", uring.status().ToString().c_str());
  if (uring.status().code() != weft::StatusCode::kFailedPrecondition) return 3;
  if (msg.find("io_uring") == std::string::npos || msg.find("epoll") == std::string::npos) return 4;
  auto epoll = weft::Runtime::create(weft::RuntimeOptions::multi_thread(2, "mutex"));
  if (!epoll.ok()) return 5;
  const int v = (*epoll)->block_on([]() -> weft::Task<int> { co_return 7; }());
  return v == 7 ? 0 : 6;
}

TEST(UringRefused, CreateFailsWithFailedPreconditionNamingIoUringAndEpollStillRuns) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(child_checks());
  int status = 0;
  // Bounded: the child runs a few milliseconds; give up (and fail) after 60 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  pid_t r = 0;
  while ((r = ::waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (r == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "the child hung";
  }
  ASSERT_TRUE(WIFEXITED(status)) << "the child crashed (status " << status << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "failed check number " << WEXITSTATUS(status);
}

}  // namespace
