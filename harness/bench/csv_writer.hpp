// CsvWriter: the tidy results schema of ARCHITECTURE.md, one row per measurement:
//
//   run_id,timestamp,git_sha,host,cpu_model,cpus,compiler,build,variant,workload,shape,threads,
//   params,rep,metric,value,unit
//
// Nothing already at the path is lost: rows go to a temporary file beside it
// (`<path>.partial-<pid>`, seeded with the file's rows when appending), flushed as they are
// written, and commit() renames it over the path. A failed or interrupted sweep leaves the old
// file as it was and its own rows in the partial file. A path that is not a regular file (a
// device such as /dev/stdout, a pipe) is written in place. Every write is checked: the first
// failure sticks, and status() and commit() report it.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "machine_info.hpp"

namespace weft::bench {

// Where one measurement sits in the sweep.
struct RowKey {
  std::string_view variant;
  std::string_view workload;
  std::string_view shape;
  std::size_t threads;       // worker count (1 for a current_thread runtime)
  std::string_view params;   // "k=v;k=v"
  int rep;
  std::string_view build = {};  // the build column when not Weft's own (a peer's toolchain)
};

class CsvWriter {
 public:
  // Fails (InvalidArgument, naming the path and the error) when the file cannot be created.
  // `append` keeps the rows already at `path` (the header is written only when it has none),
  // so several weft-bench runs can fill one results CSV.
  static absl::StatusOr<std::unique_ptr<CsvWriter>> open(const std::string& path,
                                                         MachineInfo machine, std::string run_id,
                                                         bool append = false);
  ~CsvWriter();  // closes; without commit() the partial file stays where partial_path() says

  void write(const RowKey& key, std::string_view metric, double value, std::string_view unit);
  // The first failed write, or OK.
  const absl::Status& status() const { return status_; }
  // Flushes, closes and renames the partial file over the path; the first error, if any.
  absl::Status commit();
  // The file the rows are in until commit(): the partial file, or the path written in place.
  const std::string& partial_path() const { return partial_; }

 private:
  CsvWriter(std::FILE* file, MachineInfo machine, std::string run_id, std::string path,
            std::string partial);
  void fail(std::string_view what);

  std::FILE* file_;
  MachineInfo machine_;
  std::string run_id_;
  std::string path_;
  std::string partial_;  // == path_ when written in place
  absl::Status status_;
};

// Quotes a field per RFC 4180 when it holds a comma, quote or newline.
std::string csv_field(std::string_view s);

}  // namespace weft::bench
