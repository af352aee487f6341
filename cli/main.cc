// pwctl: the command-line client of pwire-server. Wiring only; see commands.h.
#include <iostream>

#include "client.h"
#include "commands.h"

int main(int argc, char** argv) {
  pwire::cli::QuietGrpcLogging();
  return pwire::cli::RunPwctl(argc, argv, std::cout, std::cerr);
}
