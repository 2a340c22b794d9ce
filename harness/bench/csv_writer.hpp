// CsvWriter: the tidy results schema of ARCHITECTURE.md, one row per measurement:
//
//   run_id,timestamp,git_sha,host,cpu_model,cpus,compiler,build,variant,workload,shape,threads,
//   params,rep,metric,value,unit
//
// Rows are flushed as they are written, so an interrupted sweep keeps what it measured.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

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
  // Creates (truncates) `path` and writes the header. Fails if the file cannot be created.
  // Writes the header, then rows; `append` adds rows to an existing file (the header only if it
  // is empty), so several weft-bench runs can fill one results CSV.
  static absl::StatusOr<std::unique_ptr<CsvWriter>> open(const std::string& path,
                                                         MachineInfo machine, std::string run_id,
                                                         bool append = false);
  ~CsvWriter();

  void write(const RowKey& key, std::string_view metric, double value, std::string_view unit);

 private:
  CsvWriter(std::FILE* file, MachineInfo machine, std::string run_id);
  std::FILE* file_;
  MachineInfo machine_;
  std::string run_id_;
};

// Quotes a field per RFC 4180 when it holds a comma, quote or newline.
std::string csv_field(std::string_view s);

}  // namespace weft::bench
