#include "csv_writer.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace weft::bench {

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

absl::StatusOr<std::unique_ptr<CsvWriter>> CsvWriter::open(const std::string& path,
                                                           MachineInfo machine,
                                                           std::string run_id, bool append) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  const bool in_place = fs::exists(st) && !fs::is_regular_file(st);
  std::string partial = in_place ? path : fmt::format("{}.partial-{}", path, ::getpid());
  if (!in_place && append && fs::exists(st)) {
    fs::copy_file(path, partial, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          fmt::format("cannot write --out={}: copying it to {}: {}", path, partial, ec.message()));
    }
  }
  std::FILE* f = std::fopen(partial.c_str(), append ? "a" : "w");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot write --out={}: {}", path, std::strerror(errno)));
  }
  const bool has_rows = append && std::ftell(f) > 0;
  auto writer = std::unique_ptr<CsvWriter>(
      new CsvWriter(f, std::move(machine), std::move(run_id), path, std::move(partial)));
  if (!has_rows &&
      std::fputs("run_id,timestamp,git_sha,host,cpu_model,cpus,compiler,build,variant,workload,"
                 "shape,threads,params,rep,metric,value,unit\n",
                 f) < 0) {
    writer->fail("writing the header");
  }
  if (std::fflush(f) != 0) writer->fail("writing the header");
  return writer;
}

CsvWriter::CsvWriter(std::FILE* file, MachineInfo machine, std::string run_id, std::string path,
                     std::string partial)
    : file_(file),
      machine_(std::move(machine)),
      run_id_(std::move(run_id)),
      path_(std::move(path)),
      partial_(std::move(partial)) {}

CsvWriter::~CsvWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void CsvWriter::fail(std::string_view what) {
  if (status_.ok()) {
    status_ = absl::UnavailableError(
        fmt::format("cannot write {}: {}: {}", partial_, what, std::strerror(errno)));
  }
}

void CsvWriter::write(const RowKey& k, std::string_view metric, double value,
                      std::string_view unit) {
  if (!status_.ok()) return;
  const MachineInfo& m = machine_;
  const std::string row = fmt::format(
      "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(run_id_), utc_timestamp(),
      csv_field(m.git_sha), csv_field(m.host), csv_field(m.cpu_model), m.cpus,
      csv_field(m.compiler), csv_field(k.build.empty() ? m.build : k.build),
      csv_field(k.variant), csv_field(k.workload), csv_field(k.shape), k.threads,
      csv_field(k.params), k.rep, metric, value, csv_field(unit));
  if (std::fputs(row.c_str(), file_) < 0 || std::fflush(file_) != 0) fail("writing a row");
}

absl::Status CsvWriter::commit() {
  if (file_ == nullptr) return status_;
  if (std::fflush(file_) != 0) fail("flushing");
  if (std::fclose(file_) != 0) fail("closing");
  file_ = nullptr;
  if (status_.ok() && partial_ != path_ && std::rename(partial_.c_str(), path_.c_str()) != 0) {
    fail(fmt::format("renaming it to {}", path_));
  }
  return status_;
}

}  // namespace weft::bench
