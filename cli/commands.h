// pwctl's command tree (CLI11): `pw`, `class`, `agent`, `apply`, `diff`, `watch`, `status`,
// `completion`. RunPwctl parses the command line, runs one command against pwire-server and
// returns the process exit code (the codes are listed in `pwctl --help` and client.h).
#ifndef PWIRE_CLI_COMMANDS_H_
#define PWIRE_CLI_COMMANDS_H_

#include <ostream>

namespace pwire::cli {

int RunPwctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace pwire::cli

#endif  // PWIRE_CLI_COMMANDS_H_
