#include "flag_check.hpp"

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"

namespace weft::harness {

std::optional<FlagProblem> first_bad_flag(int argc, char** argv, const char* owner,
                                          bool positionals_allowed) {
  using Kind = FlagProblem::Kind;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') {
      if (positionals_allowed) continue;
      return FlagProblem{Kind::kPositional, arg, "", "", ""};
    }
    const std::size_t dashes = arg.find_first_not_of('-');
    const std::size_t eq = arg.find('=');
    std::string name = arg.substr(dashes, eq == std::string::npos ? eq : eq - dashes);
    if (name == "help" || name == "helpshort") return FlagProblem{Kind::kHelp, arg, name, "", ""};
    if (name == "helpfull" || name == "version") continue;  // Abseil's own
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    bool negated = false;  // --nomarkers
    if (flag == nullptr && eq == std::string::npos && name.rfind("no", 0) == 0) {
      flag = absl::FindCommandLineFlag(name.substr(2));
      negated = flag != nullptr && flag->IsOfType<bool>();
      if (negated) name = name.substr(2);
    }
    if (flag == nullptr || !absl::StrContains(flag->Filename(), owner)) {
      return FlagProblem{Kind::kUnknown, arg, name, "", ""};
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (flag->IsOfType<bool>()) {
      value = negated ? "false" : "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return FlagProblem{Kind::kMissingValue, arg, name, "", ""};
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return FlagProblem{Kind::kBadValue, arg, name, value, error};
    }
  }
  return std::nullopt;
}

}  // namespace weft::harness
