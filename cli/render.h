// What pwctl prints for people (-o table and -o wide): tables of pseudowires, classes and
// agents read at a glance like `kubectl get` and `gobgp neighbor`, describe-style details for
// one resource, the outcome of apply/diff, the status screen and watch lines.
// Everything here is a pure function of API messages and the current time (testable).
#ifndef PWIRE_CLI_RENDER_H_
#define PWIRE_CLI_RENDER_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pwire/v1/pwire_service.pb.h"
#include "pwire/v1/resources.pb.h"

namespace pwire::cli {

// "pseudowires/x" -> "x"; names without a collection prefix are returned as they are.
std::string ShortName(const std::string& name);

// An enum value as a table word: "ETHERNET_VLAN" -> "ethernet-vlan"; "-" for *_UNSPECIFIED.
std::string EnumWord(const google::protobuf::EnumDescriptor* type, int value);

// Age since `t` ("-" when unset), as FormatAge prints it.
std::string Age(const google::protobuf::Timestamp& t, int64_t now_seconds);

// One endpoint in a cell: "site-a/eth1", "site-a/eth1.100", "site-a/br:br0",
// "site-a/serial0 dlci 16", "peer 192.0.2.1 vc 100".
std::string EndpointCell(const v1::Endpoint& endpoint);

// Pseudowires: NAME TYPE A-END B-END STATE(A/B) SESSION-IDS AGE
// (wide adds CLASS MODE GEN RX-PKTS TX-PKTS ERRORS).
std::string PseudowireTable(const std::vector<v1::Pseudowire>& pws, int64_t now_seconds, bool wide);
// One pseudowire, spec and per-endpoint status with counters.
std::string PseudowireDetail(const v1::Pseudowire& pw, int64_t now_seconds);

// Classes: NAME ENCAP PORT COOKIE SUBLAYER SEQ AUTH HELLO AGE (wide adds MTU DF TOS).
std::string ClassTable(const std::vector<v1::PseudowireClass>& classes, int64_t now_seconds,
                       bool wide);
std::string ClassDetail(const v1::PseudowireClass& c, int64_t now_seconds);

// Agents: NAME STATE HOSTNAME ADDRESSES PWS DATA-PLANES VERSION LAST-SEEN.
std::string AgentTable(const std::vector<v1::Agent>& agents, int64_t now_seconds, bool wide);
std::string AgentDetail(const v1::Agent& agent, int64_t now_seconds);

// Apply result: NAME ACTION GEN CHANGED-FIELDS, then a summary line.
std::string ApplyResult(const v1::ApplyResponse& response);
// Diff: one line per created or updated resource ("+ name", "~ name: fields"), or
// "no changes".
std::string DiffResult(const v1::ApplyResponse& response);
// True when the response creates or updates anything.
bool HasChanges(const v1::ApplyResponse& response);

// The `pwctl status` screen: server, agents, pseudowires by state, problems.
std::string StatusScreen(const std::string& target, const v1::ServerStatus& status,
                         const std::vector<v1::Agent>& agents,
                         const std::vector<v1::Pseudowire>& problems, int64_t now_seconds);

// One watch event as a line: TIME EVENT KIND NAME DETAIL.
std::string WatchLine(const v1::WatchEvent& event);

}  // namespace pwire::cli

#endif  // PWIRE_CLI_RENDER_H_
