// Channel set-up and error reporting for pwctl (see client.h).
#include "client.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/support/log.h"

namespace pwire::cli {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read \"", path, "\""));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string Hint(grpc::StatusCode code, const std::string& target) {
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
      if (absl::StartsWith(target, "unix:")) {
        return absl::StrCat("is pwire-server running and listening on ", target,
                            "? Choose another with --server or PWIRE_SERVER.");
      }
      // Over TCP a refused TLS handshake looks the same as a server that is not there.
      return absl::StrCat(
          "is pwire-server running and listening on ", target,
          "? If it is, the mutual TLS handshake failed: the server needs a client "
          "certificate signed by its CA (--tls-cert, --tls-key), and --tls-ca must be the CA "
          "that signed the server's certificate.");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "the server did not answer in time; retry, or raise --timeout.";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "fix the field named above and try again (--dry-run checks without changing "
             "anything).";
    case grpc::StatusCode::NOT_FOUND:
      return "check the name with `pwctl pw list`, `pwctl class list` or `pwctl agent list`.";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "use `pwctl pw update` / `pwctl class update`, or `pwctl apply -f` to upsert.";
    case grpc::StatusCode::ABORTED:
      return "someone changed it meanwhile: get it again and retry with the new etag.";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "the current state does not allow this; see the reason above.";
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return "check --tls-ca, --tls-cert and --tls-key.";
    default:
      return "";
  }
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "ERROR";
  }
}

void DropGrpcLog(gpr_log_func_args* /*args*/) {}

}  // namespace

void QuietGrpcLogging() {
  const char* verbosity = std::getenv("GRPC_VERBOSITY");
  if (verbosity != nullptr && *verbosity != '\0') return;  // the user asked for them
  gpr_set_log_function(DropGrpcLog);
}

std::string ResolveTarget(const ServerOptions& options) {
  std::string server = options.server;
  if (server.empty()) {
    const char* env = std::getenv("PWIRE_SERVER");
    server = env != nullptr && *env != '\0' ? env : kDefaultServer;
  }
  if (absl::StartsWith(server, "/") || absl::StartsWith(server, "./")) {
    return absl::StrCat("unix:", server);
  }
  return server;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ServerOptions& options) {
  std::string target = ResolveTarget(options);
  bool tls = !options.tls_ca.empty() || !options.tls_cert.empty() || !options.tls_key.empty();
  grpc::ChannelArguments args;
  if (!tls) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  if (absl::StartsWith(target, "unix:")) {
    return absl::InvalidArgumentError(
        "--tls-* options apply to TCP addresses (host:port), not to unix sockets");
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.tls_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(options.tls_ca, "--tls-ca");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  if (!options.tls_cert.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(options.tls_cert, "--tls-cert");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(options.tls_key, "--tls-key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  if (!options.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls_server_name);
  }
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args);
}

int ExitCodeFor(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnreachable;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kExitRefused;
    default:
      return kExitInternal;
  }
}

std::string DescribeError(const grpc::Status& status, const std::string& what,
                          const std::string& target) {
  std::string out = absl::StrCat("pwctl: ", what, " failed: ", CodeName(status.error_code()), ": ",
                                 status.error_message(), "\n");
  std::string hint = Hint(status.error_code(), target);
  if (!hint.empty()) absl::StrAppend(&out, "  hint: ", hint, "\n");
  return out;
}

}  // namespace pwire::cli
