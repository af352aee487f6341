// How pwctl reaches pwire-server: the --server address (a unix socket path, "unix:PATH", or
// "host:port" over TCP), optional mutual TLS, and the channel built from them. Also the
// mapping of gRPC errors to what pwctl prints and the exit code it returns.
#ifndef PWIRE_CLI_CLIENT_H_
#define PWIRE_CLI_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace pwire::cli {

// pwire-server's default listening socket, used when neither --server nor PWIRE_SERVER is set.
inline constexpr char kDefaultServer[] = "unix:///run/pwire/pwire.sock";

struct ServerOptions {
  std::string server;  // empty: $PWIRE_SERVER, then kDefaultServer
  std::string tls_ca;  // PEM files; with a TCP address they turn on (mutual) TLS
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;  // overrides the name checked in the server certificate
  double timeout_seconds = 30;
};

// Exit codes of pwctl (documented in `pwctl --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitChanges = 1,      // `pwctl diff`: the file differs from the server
  kExitUsage = 2,        // bad command line
  kExitBadInput = 3,     // bad file or value, refused before anything was sent
  kExitRefused = 4,      // the server refused the request (validation, not found, conflict)
  kExitUnreachable = 5,  // the server could not be reached or did not answer in time
  kExitInternal = 6,     // anything else
};

// Turns gRPC core's own log lines (e.g. "Handshake failed" on a refused TLS handshake) off,
// so the user sees only pwctl's error and hint; they stay on when the user set GRPC_VERBOSITY
// (DEBUG, INFO or ERROR). Call before the first channel is created.
void QuietGrpcLogging();

// The address pwctl dials, in gRPC target form ("unix:/path" or "host:port").
std::string ResolveTarget(const ServerOptions& options);

// A channel to the server. Fails (INVALID_ARGUMENT) on unreadable TLS files or TLS options
// given with a unix socket.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ServerOptions& options);

// Exit code for a gRPC status.
int ExitCodeFor(const grpc::Status& status);

// Multi-line message for a failed call: the server's message (which names the field path)
// and a hint saying what to do next. `what` says what was tried, e.g. "create pseudowire".
std::string DescribeError(const grpc::Status& status, const std::string& what,
                          const std::string& target);

}  // namespace pwire::cli

#endif  // PWIRE_CLI_CLIENT_H_
