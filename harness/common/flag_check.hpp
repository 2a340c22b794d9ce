// Checking a harness executable's flags before absl::ParseCommandLine.
//
// Abseil exits 1 on an unknown flag or a value its parser rejects; the harness executables exit
// 2 on bad input and name the bad value and the valid ones. first_bad_flag() walks argv as
// Abseil would (--name=value, --name value, --flag and --noflag for booleans, "--" ends the
// flags) and reports the first problem; each program words its own message.
#pragma once

#include <optional>
#include <string>

namespace weft::harness {

struct FlagProblem {
  enum class Kind {
    kUnknown,       // not a flag of this program (`arg`)
    kMissingValue,  // the last argument, a non-boolean flag with no value (`name`)
    kBadValue,      // the flag's own parser rejects `value` (`name`, `value`)
    kPositional,    // not a flag at all (`arg`); only when positionals are not allowed
    kHelp,          // --help or --helpshort
  };
  Kind kind;
  std::string arg;    // the argument as given
  std::string name;   // the flag's name, without dashes or a "no" prefix
  std::string value;  // the value that did not parse
  std::string error;  // what the flag's parser said of it
};

// The first problem in argv, or nullopt. A flag belongs to this program when the file that
// defines it has `owner` in its name (Abseil's own flags, --helpfull and --version, pass).
std::optional<FlagProblem> first_bad_flag(int argc, char** argv, const char* owner,
                                          bool positionals_allowed);

}  // namespace weft::harness
