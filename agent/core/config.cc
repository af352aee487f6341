// AgentConfig parsing: YAML file first, then command-line flags on top. See config.h.
#include "agent/core/config.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace pwire::agent {
namespace {

std::string FindConfigFlag(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if ((a == "--config" || a == "-c") && i + 1 < argc) return argv[i + 1];
    if (a.starts_with("--config=")) return std::string(a.substr(9));
  }
  return "";
}

template <typename T>
absl::Status Get(const YAML::Node& n, const char* key, T& out) {
  if (!n[key]) return absl::OkStatus();
  try {
    out = n[key].as<T>();
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: field '", key, "': ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status LoadLocalPseudowire(const YAML::Node& n, size_t index, LocalPseudowire& pw) {
  if (!n.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: local_pseudowires[", index, "]: expected a mapping"));
  }
  int port = pw.udp_port;
  for (const auto& s :
       {Get(n, "name", pw.name), Get(n, "peer_address", pw.peer_address),
        Get(n, "local_address", pw.local_address), Get(n, "udp_port", port),
        Get(n, "local_session_id", pw.local_session_id),
        Get(n, "remote_session_id", pw.remote_session_id),
        Get(n, "local_cookie", pw.local_cookie_hex), Get(n, "remote_cookie", pw.remote_cookie_hex),
        Get(n, "default_sublayer", pw.default_sublayer), Get(n, "interface", pw.interface),
        Get(n, "session_ifname", pw.session_ifname)}) {
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: local_pseudowires[", index, "]: ", s.message()));
    }
  }
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("config: local_pseudowires[", index, "].udp_port: out of range"));
  }
  pw.udp_port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

absl::Status LoadExternalPeer(const YAML::Node& n, size_t index, ExternalPeer& pw) {
  auto where = absl::StrCat("config: external_peers[", index, "]");
  if (!n.IsMap()) return absl::InvalidArgumentError(where + ": expected a mapping");
  static const char* kKnown[] = {
      "name",          "peer_address",   "local_address", "hostname",
      "remote_end_id", "role",           "udp_port",      "secret",
      "digest",        "cookie_length",  "l2_sublayer",   "hello_interval_s",
      "interface",     "session_ifname", "router_id",     "data_sequencing"};
  for (const auto& kv : n) {
    auto key = kv.first.as<std::string>();
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown field '", key, "'"));
    }
  }
  int port = pw.udp_port;
  std::string role = pw.initiator ? "initiator" : "responder";
  std::string sublayer = pw.default_sublayer ? "default" : "none";
  std::string router_id;
  for (const auto& s :
       {Get(n, "name", pw.name), Get(n, "peer_address", pw.peer_address),
        Get(n, "local_address", pw.local_address), Get(n, "hostname", pw.hostname),
        Get(n, "remote_end_id", pw.remote_end_id), Get(n, "role", role), Get(n, "udp_port", port),
        Get(n, "secret", pw.secret), Get(n, "digest", pw.digest),
        Get(n, "cookie_length", pw.cookie_length), Get(n, "l2_sublayer", sublayer),
        Get(n, "hello_interval_s", pw.hello_interval_s), Get(n, "interface", pw.interface),
        Get(n, "session_ifname", pw.session_ifname), Get(n, "router_id", router_id),
        Get(n, "data_sequencing", pw.data_sequencing)}) {
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
  }
  if (!router_id.empty()) {
    auto id = ParseRouterId(router_id);
    if (!id.ok())
      return absl::InvalidArgumentError(absl::StrCat(where, ".", id.status().message()));
    pw.router_id = *id;
  }
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(where + ".udp_port: out of range");
  }
  pw.udp_port = static_cast<uint16_t>(port);
  if (role != "initiator" && role != "responder") {
    return absl::InvalidArgumentError(where + ".role: initiator or responder");
  }
  pw.initiator = role == "initiator";
  if (sublayer != "default" && sublayer != "none") {
    return absl::InvalidArgumentError(where + ".l2_sublayer: default or none");
  }
  pw.default_sublayer = sublayer == "default";
  if (pw.data_sequencing && !pw.default_sublayer) {
    // RFC 3931 §4.6: sequence numbers ride in the default L2-Specific Sublayer.
    return absl::InvalidArgumentError(where + ".data_sequencing: needs l2_sublayer default");
  }
  return absl::OkStatus();
}

// Entries with one peer address share its control connection (one secret, one set of timers,
// one identity check): the first one found would decide for all, so they must agree.
absl::Status ValidateSharedConnections(const std::vector<ExternalPeer>& peers) {
  for (size_t j = 0; j < peers.size(); ++j) {
    for (size_t i = 0; i < j; ++i) {
      const ExternalPeer& a = peers[i];
      const ExternalPeer& b = peers[j];
      if (a.peer_address != b.peer_address) continue;
      const char* field = a.secret != b.secret                        ? "secret"
                          : !a.secret.empty() && a.digest != b.digest ? "digest"
                          : a.hello_interval_s != b.hello_interval_s  ? "hello_interval_s"
                          : a.hostname != b.hostname                  ? "hostname"
                          : a.router_id != b.router_id                ? "router_id"
                                                                      : nullptr;
      if (field == nullptr) continue;
      return absl::InvalidArgumentError(
          absl::StrCat("external_peers[", j, "] '", b.name, "' and external_peers[", i, "] '",
                       a.name, "' have one peer_address (", a.peer_address,
                       ": one control connection) but a different ", field));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateExternalPeer(const ExternalPeer& pw, size_t index) {
  auto where = absl::StrCat("external_peers[", index, "]");
  if (pw.name.empty()) return absl::InvalidArgumentError(where + ".name: required");
  if (pw.peer_address.empty()) return absl::InvalidArgumentError(where + ".peer_address: required");
  if (pw.remote_end_id.empty()) {
    return absl::InvalidArgumentError(where + ".remote_end_id: required (RFC 3931 §5.4.4)");
  }
  if (pw.cookie_length != 0 && pw.cookie_length != 4 && pw.cookie_length != 8) {
    return absl::InvalidArgumentError(where + ".cookie_length: 0, 4 or 8");
  }
  if (pw.digest != "md5" && pw.digest != "sha1") {
    return absl::InvalidArgumentError(where + ".digest: md5 or sha1");
  }
  if (pw.hello_interval_s < 0) {
    return absl::InvalidArgumentError(where + ".hello_interval_s: must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace

// A Router ID (RFC 3931 §5.4.3, 32 bits): dotted quad, as routers show it, or a number.
absl::StatusOr<uint32_t> ParseRouterId(const std::string& text) {
  uint32_t id = 0;
  in_addr a{};
  if (text.find('.') != std::string::npos) {
    if (inet_pton(AF_INET, text.c_str(), &a) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("router_id: '", text, "' is not a dotted quad (a.b.c.d) or a number"));
    }
    id = ntohl(a.s_addr);
  } else if (!absl::SimpleAtoi(text, &id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("router_id: '", text, "' is not a dotted quad (a.b.c.d) or a number"));
  }
  if (id == 0) return absl::InvalidArgumentError("router_id: 0 is no Router ID (leave it out)");
  return id;
}

uint32_t LocalRouterId(const AgentConfig& cfg) {
  if (cfg.router_id != 0) return cfg.router_id;
  for (const auto& u : cfg.underlay) {
    in_addr a{};
    if (inet_pton(AF_INET, u.c_str(), &a) == 1 && a.s_addr != 0) return ntohl(a.s_addr);
  }
  // IPv6 only: FNV-1a of the agent id (the same id, the same Router ID after a restart).
  uint32_t h = 2166136261u;
  for (unsigned char c : cfg.agent_id) h = (h ^ c) * 16777619u;
  return h != 0 ? h : 1;
}

absl::StatusOr<DataplaneMode> ParseDataplaneMode(std::string_view s) {
  if (s == "auto") return DataplaneMode::kAuto;
  if (s == "kernel") return DataplaneMode::kKernel;
  if (s == "userspace") return DataplaneMode::kUserspace;
  if (s == "ebpf") return DataplaneMode::kEbpf;
  if (s == "fake") return DataplaneMode::kFake;
  return absl::InvalidArgumentError(absl::StrCat("dataplane: '", std::string(s),
                                                 "' is not one of auto, kernel, ebpf, userspace"));
}

std::string_view DataplaneModeName(DataplaneMode m) {
  switch (m) {
    case DataplaneMode::kAuto:
      return "auto";
    case DataplaneMode::kKernel:
      return "kernel";
    case DataplaneMode::kUserspace:
      return "userspace";
    case DataplaneMode::kEbpf:
      return "ebpf";
    case DataplaneMode::kFake:
      return "fake";
  }
  return "?";
}

absl::Status LoadAgentConfigYaml(std::string_view yaml_text, AgentConfig& cfg) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: not valid YAML: ", e.what()));
  }
  if (root.IsNull()) return absl::OkStatus();
  if (!root.IsMap()) return absl::InvalidArgumentError("config: top level must be a mapping");
  static const char* kKnown[] = {"server",         "agent_id",          "tls",
                                 "underlay",       "l2tp_port",         "dataplane",
                                 "metrics_listen", "log_level",         "log_format",
                                 "state_dir",      "status_interval_s", "local_pseudowires",
                                 "external_peers", "router_id",         "stop_teardown",
                                 "stop_timeout_ms"};
  for (const auto& kv : root) {
    auto key = kv.first.as<std::string>();
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return absl::InvalidArgumentError(absl::StrCat("config: unknown field '", key, "'"));
    }
  }
  std::string dp(DataplaneModeName(cfg.dataplane));
  int port = cfg.l2tp_port;
  for (auto s : {Get(root, "server", cfg.server), Get(root, "agent_id", cfg.agent_id),
                 Get(root, "underlay", cfg.underlay), Get(root, "l2tp_port", port),
                 Get(root, "dataplane", dp), Get(root, "metrics_listen", cfg.metrics_listen),
                 Get(root, "log_level", cfg.log_level), Get(root, "log_format", cfg.log_format),
                 Get(root, "state_dir", cfg.state_dir),
                 Get(root, "status_interval_s", cfg.status_interval_s),
                 Get(root, "stop_teardown", cfg.stop_teardown),
                 Get(root, "stop_timeout_ms", cfg.stop_timeout_ms)}) {
    if (!s.ok()) return s;
  }
  if (std::string rid; root["router_id"]) {
    if (auto s = Get(root, "router_id", rid); !s.ok()) return s;
    auto id = ParseRouterId(rid);
    if (!id.ok())
      return absl::InvalidArgumentError(absl::StrCat("config: ", id.status().message()));
    cfg.router_id = *id;
  }
  if (port <= 0 || port > 65535) return absl::InvalidArgumentError("config: l2tp_port: range");
  cfg.l2tp_port = static_cast<uint16_t>(port);
  auto mode = ParseDataplaneMode(dp);
  if (!mode.ok())
    return absl::InvalidArgumentError(absl::StrCat("config: ", mode.status().message()));
  cfg.dataplane = *mode;
  if (auto tls = root["tls"]) {
    for (const auto& s : {Get(tls, "ca", cfg.tls_ca), Get(tls, "cert", cfg.tls_cert),
                          Get(tls, "key", cfg.tls_key)}) {
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("tls.", s.message()));
    }
  }
  if (auto pws = root["local_pseudowires"]) {
    if (!pws.IsSequence()) {
      return absl::InvalidArgumentError("config: local_pseudowires: expected a list");
    }
    for (size_t i = 0; i < pws.size(); ++i) {
      LocalPseudowire pw;
      if (auto s = LoadLocalPseudowire(pws[i], i, pw); !s.ok()) return s;
      cfg.local_pseudowires.push_back(std::move(pw));
    }
  }
  if (auto peers = root["external_peers"]) {
    if (!peers.IsSequence()) {
      return absl::InvalidArgumentError("config: external_peers: expected a list");
    }
    for (size_t i = 0; i < peers.size(); ++i) {
      ExternalPeer pw;
      if (auto s = LoadExternalPeer(peers[i], i, pw); !s.ok()) return s;
      cfg.external_peers.push_back(std::move(pw));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAgentConfig(const AgentConfig& cfg) {
  if (cfg.agent_id.empty()) {
    return absl::InvalidArgumentError("agent_id: required (flag --agent-id or config agent_id)");
  }
  if (cfg.underlay.empty()) {
    return absl::InvalidArgumentError(
        "underlay: at least one underlay address is required (flag --underlay)");
  }
  if (cfg.log_format != "text" && cfg.log_format != "json") {
    return absl::InvalidArgumentError("log_format: must be text or json");
  }
  if (cfg.status_interval_s <= 0) {
    return absl::InvalidArgumentError("status_interval_s: must be positive");
  }
  if (cfg.stop_timeout_ms < 0 || cfg.stop_timeout_ms > 60000) {
    return absl::InvalidArgumentError("stop_timeout_ms: 0 to 60000");
  }
  for (size_t i = 0; i < cfg.local_pseudowires.size(); ++i) {
    const auto& pw = cfg.local_pseudowires[i];
    auto where = absl::StrCat("local_pseudowires[", i, "]");
    if (pw.name.empty()) return absl::InvalidArgumentError(where + ".name: required");
    if (pw.peer_address.empty()) {
      return absl::InvalidArgumentError(where + ".peer_address: required");
    }
    if (pw.local_session_id == 0 || pw.remote_session_id == 0) {
      return absl::InvalidArgumentError(where +
                                        ": local_session_id and remote_session_id "
                                        "must be non-zero (RFC 3931 §4.1)");
    }
    for (const auto* c : {&pw.local_cookie_hex, &pw.remote_cookie_hex}) {
      if (!c->empty() && c->size() != 8 && c->size() != 16) {
        return absl::InvalidArgumentError(where + ": cookies are 0, 4 or 8 bytes (hex)");
      }
    }
  }
  for (size_t i = 0; i < cfg.external_peers.size(); ++i) {
    if (auto s = ValidateExternalPeer(cfg.external_peers[i], i); !s.ok()) return s;
  }
  return ValidateSharedConnections(cfg.external_peers);
}

absl::StatusOr<AgentConfig> ParseAgentConfig(int argc, const char* const* argv) {
  AgentConfig cfg;
  cfg.config_file = FindConfigFlag(argc, argv);
  if (!cfg.config_file.empty()) {
    std::ifstream in(cfg.config_file);
    if (!in) return absl::NotFoundError(absl::StrCat("config: cannot read ", cfg.config_file));
    std::stringstream ss;
    ss << in.rdbuf();
    if (auto s = LoadAgentConfigYaml(ss.str(), cfg); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(cfg.config_file, ": ", s.message()));
    }
  }
  CLI::App app{"pwire-agent: programs L2TPv3 pseudowires on this host for pwire-server"};
  std::string dp(DataplaneModeName(cfg.dataplane));
  app.add_option("-c,--config", cfg.config_file, "YAML configuration file");
  app.add_option("--server", cfg.server, "pwire-server address (host:port or unix:///path)");
  app.add_option("--agent-id", cfg.agent_id, "this agent's identity");
  app.add_option("--tls-ca", cfg.tls_ca, "CA certificate (PEM) to verify the server");
  app.add_option("--tls-cert", cfg.tls_cert, "client certificate (PEM)");
  app.add_option("--tls-key", cfg.tls_key, "client key (PEM)");
  app.add_option("--underlay", cfg.underlay, "underlay address(es)")->delimiter(',');
  app.add_option("--l2tp-port", cfg.l2tp_port, "L2TP UDP port");
  app.add_option("--dataplane", dp, "auto, kernel, ebpf or userspace");
  app.add_option("--metrics-listen", cfg.metrics_listen, "Prometheus endpoint (host:port)");
  app.add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error");
  app.add_option("--log-format", cfg.log_format, "text or json");
  app.add_option("--state-dir", cfg.state_dir, "directory for the agent's state");
  app.add_option("--status-interval", cfg.status_interval_s, "seconds between counter reports");
  std::string router_id;
  app.add_option("--router-id", router_id, "our Router ID (a.b.c.d or a number; RFC 3931 §5.4.3)");
  app.add_option("--stop-teardown", cfg.stop_teardown,
                 "on SIGTERM/SIGINT send StopCCN to every peer before exit (true or false)");
  app.add_option("--stop-timeout-ms", cfg.stop_timeout_ms,
                 "longest wait for the StopCCNs' acknowledgements on stop");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return absl::CancelledError(app.help());
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }
  auto mode = ParseDataplaneMode(dp);
  if (!mode.ok()) return mode.status();
  cfg.dataplane = *mode;
  if (!router_id.empty()) {
    auto id = ParseRouterId(router_id);
    if (!id.ok()) return id.status();
    cfg.router_id = *id;
  }
  if (auto s = ValidateAgentConfig(cfg); !s.ok()) return s;
  return cfg;
}

}  // namespace pwire::agent
