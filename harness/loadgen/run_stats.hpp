// What a load run measured: per client thread, then merged into one (RunStats::merge).
#pragma once

#include <cstdint>

#include "histogram.hpp"

namespace weft::loadgen {

// Every way an echo can go wrong. A lost connection counts once, with whatever it had in flight.
struct ErrorCounts {
  std::uint64_t closed = 0;      // the server closed the connection (EOF)
  std::uint64_t reset = 0;       // a read or write failed (ECONNRESET, EPIPE, ...)
  std::uint64_t mismatch = 0;    // a complete echo differed from the message sent
  std::uint64_t unexpected = 0;  // the server returned bytes that were never sent
  std::uint64_t timeout = 0;     // an echo still incomplete kDrainGraceNs after the window closed

  std::uint64_t total() const { return closed + reset + mismatch + unexpected + timeout; }
  void merge(const ErrorCounts& o) {
    closed += o.closed;
    reset += o.reset;
    mismatch += o.mismatch;
    unexpected += o.unexpected;
    timeout += o.timeout;
  }
};

struct RunStats {
  // Closed mode: messages whose send and complete echo both fell inside the measurement window.
  // Open mode: arrivals intended inside the window whose echo completed (by the drain's end).
  std::uint64_t msgs = 0;
  LatencyHistogram latency;
  ErrorCounts errors;
  int connections = 0;
  int lost = 0;  // connections that ended in an error before the run did
  // Open mode: arrivals never sent because their connection was lost.
  std::uint64_t unsent = 0;
  // Open mode: arrivals intended inside the window still unanswered when the drain grace ended
  // (recorded in `latency` with their latency so far; not in `msgs`).
  std::uint64_t unfinished = 0;

  void merge(const RunStats& o) {
    msgs += o.msgs;
    latency.merge(o.latency);
    errors.merge(o.errors);
    connections += o.connections;
    lost += o.lost;
    unsent += o.unsent;
    unfinished += o.unfinished;
  }
};

}  // namespace weft::loadgen
