// pwire-agent's configuration: command-line flags (CLI11) over an optional YAML file. A flag
// given on the command line wins over the file. Validation errors name the field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pwire::agent {

enum class DataplaneMode { kAuto, kKernel, kUserspace, kFake, kEbpf };  // kFake: tests only

absl::StatusOr<DataplaneMode> ParseDataplaneMode(std::string_view s);
std::string_view DataplaneModeName(DataplaneMode m);

// A pseudowire configured locally, with no server involved: the static mode for a peer that
// has no control connection, or a peer that is not managed by pwire. Session IDs and cookies
// are given here.
struct LocalPseudowire {
  std::string name;
  std::string peer_address;   // The peer's underlay address.
  std::string local_address;  // Ours; empty means the first underlay address.
  uint16_t udp_port = 1701;   // 0 means IP encapsulation (protocol 115).
  uint32_t local_session_id = 0;
  uint32_t remote_session_id = 0;
  std::string local_cookie_hex;   // Cookie we expect on received packets: "", 8 or 16 hex.
  std::string remote_cookie_hex;  // Cookie we send.
  bool default_sublayer = false;
  std::string interface;  // Attachment circuit: interface (or bridge) to join; TAP name below.
  std::string session_ifname;
};

// A pseudowire with a dynamic L2TPv3 session (RFC 3931 §3.3, §3.4) to a peer that pwire does
// not manage (a third-party router), configured locally. The peer is identified by its
// address, its Host Name AVP (§5.4.3; when set, a control connection with a peer presenting
// another one is refused) and the Remote End ID that binds the session (§5.4.4). With a
// secret, control messages are authenticated (§4.3, Message Digest AVP). Entries with one
// peer address share one control connection: they must agree on the secret, digest, HELLO
// interval, host name and Router ID (ValidateAgentConfig refuses them otherwise).
struct ExternalPeer {
  std::string name;
  std::string peer_address;
  std::string local_address;  // Ours; empty means the first underlay address.
  std::string hostname;       // The peer's Host Name; empty: not checked.
  uint32_t router_id = 0;     // The peer's Router ID AVP (§5.4.3); 0: not checked.
  std::string remote_end_id;  // Required.
  bool initiator = true;      // We send the SCCRQ and ICRQ; false: we wait for the peer's.
  uint16_t udp_port = 1701;
  std::string secret;          // Empty: no control message authentication.
  std::string digest = "md5";  // With a secret: md5 (HMAC-MD5) or sha1 (HMAC-SHA1).
  int cookie_length = 0;       // Of the cookie we assign: 0, 4 or 8.
  bool default_sublayer = true;
  // RFC 3931 §5.4.4 Data Sequencing AVP: ask the peer to sequence all its data packets (level
  // 2); needs the default sublayer. What the peer asks of us is done regardless.
  bool data_sequencing = false;
  int hello_interval_s = 60;  // RFC 3931 §6.5 keepalive; 0 disables it.
  std::string interface;      // Attachment circuit: interface (or bridge) to join.
  std::string session_ifname;
};

struct AgentConfig {
  std::string config_file;
  std::string server = "unix:///run/pwire/pwire.sock";
  std::string agent_id;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> underlay;  // Underlay addresses (IPv4 or IPv6), first is primary.
  uint16_t l2tp_port = 1701;          // Our L2TP control/data UDP port.
  DataplaneMode dataplane = DataplaneMode::kAuto;
  std::string metrics_listen = "127.0.0.1:9102";  // Empty disables the endpoint.
  std::string log_level = "info";
  std::string log_format = "text";  // text | json
  std::string state_dir = "/var/lib/pwire-agent";
  int status_interval_s = 10;  // Periodic counters to the server.
  std::vector<LocalPseudowire> local_pseudowires;
  std::vector<ExternalPeer> external_peers;
  // Our Router ID AVP (RFC 3931 §5.4.3: unique per LCCE); 0: derived (LocalRouterId).
  uint32_t router_id = 0;
  // On SIGTERM or SIGINT: a StopCCN on every control connection (RFC 3931 §7.2, local
  // termination), then exit once each is acknowledged or after stop_timeout_ms. false:
  // exit at once and leave the peers' sessions to their keepalive (or to our restart).
  bool stop_teardown = true;
  int stop_timeout_ms = 2000;
};

// The Router ID this agent presents (RFC 3931 §5.4.3, never 0): router_id when configured,
// else the first IPv4 underlay address, else (IPv6 only) a non-zero hash of agent_id,
// stable across restarts.
uint32_t LocalRouterId(const AgentConfig& cfg);
// A Router ID as routers show it (a.b.c.d) or a number; 0 is refused.
absl::StatusOr<uint32_t> ParseRouterId(const std::string& text);

// Parses argv (and the YAML file named by --config, if any). On --help, returns
// absl::CancelledError with the help text as message.
absl::StatusOr<AgentConfig> ParseAgentConfig(int argc, const char* const* argv);

// Loads a YAML document into `cfg` (fields absent from it keep their value).
absl::Status LoadAgentConfigYaml(std::string_view yaml_text, AgentConfig& cfg);

absl::Status ValidateAgentConfig(const AgentConfig& cfg);

}  // namespace pwire::agent
