#include "csv_writer.hpp"

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
  std::error_code ec;
  const bool has_rows = append && std::filesystem::file_size(path, ec) > 0 && !ec;
  std::FILE* f = std::fopen(path.c_str(), append ? "a" : "w");
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        fmt::format("cannot write --out={}: {}", path, std::strerror(errno)));
  }
  if (!has_rows) std::fputs(
      "run_id,timestamp,git_sha,host,cpu_model,cpus,compiler,build,variant,workload,shape,"
      "threads,params,rep,metric,value,unit\n",
      f);
  std::fflush(f);
  return std::unique_ptr<CsvWriter>(new CsvWriter(f, std::move(machine), std::move(run_id)));
}

CsvWriter::CsvWriter(std::FILE* file, MachineInfo machine, std::string run_id)
    : file_(file), machine_(std::move(machine)), run_id_(std::move(run_id)) {}

CsvWriter::~CsvWriter() { std::fclose(file_); }

void CsvWriter::write(const RowKey& k, std::string_view metric, double value,
                      std::string_view unit) {
  const MachineInfo& m = machine_;
  fmt::print(file_, "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(run_id_),
             utc_timestamp(), csv_field(m.git_sha), csv_field(m.host), csv_field(m.cpu_model),
             m.cpus, csv_field(m.compiler), csv_field(k.build.empty() ? m.build : k.build), csv_field(k.variant),
             csv_field(k.workload), csv_field(k.shape), k.threads, csv_field(k.params), k.rep,
             metric, value, csv_field(unit));
  std::fflush(file_);
}

}  // namespace weft::bench
