#include "server/validation.h"

#include <arpa/inet.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "server/names.h"

namespace pwire::server {
namespace {

using pwire::v1::AttachmentCircuit;
using pwire::v1::Endpoint;
using pwire::v1::PseudowireClass;
using pwire::v1::PseudowireSpec;

constexpr size_t kMaxDescription = 1024;
constexpr size_t kMaxIfName = 15;  // IFNAMSIZ - 1

bool IsValidIfName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxIfName || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c > '~') return false;
  }
  return true;
}

bool IsEthernet(PseudowireSpec::Type t) {
  return t == PseudowireSpec::ETHERNET || t == PseudowireSpec::ETHERNET_VLAN;
}

absl::Status ValidateCircuitIds(const AttachmentCircuit& c, PseudowireSpec::Type type,
                                const std::string& p) {
  if (type == PseudowireSpec::ETHERNET_VLAN) {
    if (c.vlan_id() < 1 || c.vlan_id() > 4094) {
      return InvalidField(p + ".vlan_id", "ETHERNET_VLAN needs a VLAN id in 1-4094");
    }
  } else if (c.vlan_id() != 0) {
    return InvalidField(p + ".vlan_id", "only ETHERNET_VLAN pseudowires take a VLAN id");
  }
  if (type == PseudowireSpec::FRAME_RELAY_DLCI) {
    if (c.dlci() < 16 || c.dlci() > 1007) {
      return InvalidField(p + ".dlci", "FRAME_RELAY_DLCI needs a DLCI in 16-1007");
    }
  } else if (c.dlci() != 0) {
    return InvalidField(p + ".dlci", "only FRAME_RELAY_DLCI pseudowires take a DLCI");
  }
  bool needs_vpi = type == PseudowireSpec::ATM_AAL5_SDU || type == PseudowireSpec::ATM_CELL_VCC ||
                   type == PseudowireSpec::ATM_CELL_VPC;
  bool needs_vci = type == PseudowireSpec::ATM_AAL5_SDU || type == PseudowireSpec::ATM_CELL_VCC;
  if (c.vpi() > 4095) return InvalidField(p + ".vpi", "VPI must be in 0-4095");
  if (!needs_vpi && c.vpi() != 0) {
    return InvalidField(p + ".vpi", "only ATM AAL5 SDU, cell VCC and cell VPC take a VPI");
  }
  if (needs_vci && (c.vci() < 32 || c.vci() > 65535)) {
    return InvalidField(p + ".vci", "ATM VCC pseudowires need a VCI in 32-65535");
  }
  if (!needs_vci && c.vci() != 0) {
    return InvalidField(p + ".vci", "only ATM AAL5 SDU and cell VCC take a VCI");
  }
  return absl::OkStatus();
}

absl::Status ValidateCircuit(const AttachmentCircuit& c, PseudowireSpec::Type type,
                             const std::string& p) {
  switch (c.target_case()) {
    case AttachmentCircuit::kInterface:
      if (!IsValidIfName(c.interface())) {
        return InvalidField(p + ".interface", absl::StrCat("'", c.interface(),
                                                           "' is not a valid interface name "
                                                           "(1-15 characters, no '/', ':' or "
                                                           "spaces)"));
      }
      break;
    case AttachmentCircuit::kBridge:
      if (!IsValidIfName(c.bridge())) {
        return InvalidField(p + ".bridge",
                            absl::StrCat("'", c.bridge(), "' is not a valid bridge name"));
      }
      if (!IsEthernet(type)) {
        return InvalidField(p + ".bridge",
                            "only ETHERNET and ETHERNET_VLAN pseudowires can "
                            "join a bridge; give an interface");
      }
      break;
    case AttachmentCircuit::TARGET_NOT_SET:
      return InvalidField(p + ".interface", "required: set interface (or bridge, for Ethernet)");
  }
  if (auto s = ValidateCircuitIds(c, type, p); !s.ok()) return s;
  if (!c.pw_interface_name().empty() && !IsValidIfName(c.pw_interface_name())) {
    return InvalidField(p + ".pw_interface_name",
                        "must be 1-15 characters without '/', ':' or spaces");
  }
  if (c.mtu() != 0 && (c.mtu() < 68 || c.mtu() > 65535)) {
    return InvalidField(p + ".mtu", "must be 0 (automatic) or 68-65535");
  }
  return absl::OkStatus();
}

absl::Status ValidateAgentEndpoint(const pwire::v1::AgentEndpoint& e, PseudowireSpec::Type type,
                                   const std::string& p, const ReferenceLookup& lookup) {
  if (!e.has_circuit()) return InvalidField(p + ".circuit", "required: the attachment circuit");
  if (auto s = ValidateCircuit(e.circuit(), type, p + ".circuit"); !s.ok()) return s;
  if (!e.local_address().empty() && !IsIpAddress(e.local_address())) {
    return InvalidField(p + ".local_address",
                        absl::StrCat("'", e.local_address(), "' is not an IP address"));
  }
  std::string id = e.agent().substr(kAgents.size() + 1);
  const pwire::v1::Agent* agent = lookup.FindAgent(id);
  if (agent == nullptr) {
    if (e.pre_provision()) return absl::OkStatus();
    return FailedField(p + ".agent",
                       absl::StrCat("agent '", id,
                                    "' is unknown; start pwire-agent on that host "
                                    "so it registers, or set pre_provision: true on this "
                                    "endpoint to configure it ahead"));
  }
  if (!e.local_address().empty()) {
    bool found = false;
    for (const auto& a : agent->underlay_addresses()) found = found || a == e.local_address();
    if (!found) {
      return FailedField(
          p + ".local_address",
          absl::StrCat("agent '", id, "' has no underlay address ", e.local_address(),
                       "; use one it reports (pwctl agent get ", id, ")"));
    }
  }
  const auto& types = agent->capabilities().pseudowire_types();
  if (!types.empty() && std::find(types.begin(), types.end(), type) == types.end()) {
    return FailedField(
        "spec.type", absl::StrCat("agent '", id, "' cannot carry ", PseudowireSpec::Type_Name(type),
                                  " pseudowires (see its capabilities)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateExternal(const pwire::v1::ExternalPeer& e, const std::string& p) {
  if (!IsIpAddress(e.address())) {
    return InvalidField(p + ".address",
                        e.address().empty()
                            ? "required: the peer's IPv4 or IPv6 underlay address"
                            : absl::StrCat("'", e.address(), "' is not an IP address"));
  }
  if (e.hostname().size() > 255) return InvalidField(p + ".hostname", "at most 255 characters");
  if (e.remote_end_id().size() > 255) {
    return InvalidField(p + ".remote_end_id", "at most 255 octets");
  }
  if (e.shared_secret().size() > 255) {
    return InvalidField(p + ".shared_secret", "at most 255 characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateEndpoints(const PseudowireSpec& spec, const ReferenceLookup& lookup) {
  if (spec.endpoints_size() != 2) {
    return InvalidField(
        "spec.endpoints",
        absl::StrCat("exactly two endpoints (a and b) are needed, got ", spec.endpoints_size()));
  }
  int agents = 0;
  for (int i = 0; i < 2; ++i) {
    const Endpoint& e = spec.endpoints(i);
    std::string p = absl::StrCat("spec.endpoints[", i, "]");
    if (e.kind_case() == Endpoint::kAgent) {
      ++agents;
      if (auto s = ValidateAgentEndpoint(e.agent(), spec.type(), p + ".agent", lookup); !s.ok()) {
        return s;
      }
    } else if (e.kind_case() == Endpoint::kExternal) {
      if (auto s = ValidateExternal(e.external(), p + ".external"); !s.ok()) return s;
    } else {
      return InvalidField(p, "set either agent (a pwire agent) or external (another router)");
    }
  }
  if (agents == 0) {
    return InvalidField("spec.endpoints", "at least one endpoint must be a pwire agent");
  }
  if (agents == 2 && spec.endpoints(0).agent().agent() == spec.endpoints(1).agent().agent()) {
    return InvalidField("spec.endpoints[1].agent.agent",
                        absl::StrCat("both ends are on ", spec.endpoints(0).agent().agent(),
                                     "; a pseudowire joins two different hosts"));
  }
  return absl::OkStatus();
}

absl::Status ValidateStatic(const PseudowireSpec& spec, uint32_t cookie_length) {
  const auto& eps = spec.static_params().endpoints();
  if (spec.mode() != PseudowireSpec::STATIC) {
    if (!eps.empty()) {
      return InvalidField("spec.static_params", "only for mode STATIC; remove it or set mode");
    }
    return absl::OkStatus();
  }
  if (!eps.empty() && eps.size() != 2) {
    return InvalidField("spec.static_params.endpoints",
                        "give none (all allocated) or two entries, one per endpoint");
  }
  for (int i = 0; i < 2; ++i) {
    std::string p = absl::StrCat("spec.static_params.endpoints[", i, "]");
    bool external = spec.endpoints(i).has_external();
    const pwire::v1::SessionParams* sp = eps.empty() ? nullptr : &eps[i];
    if (external && (sp == nullptr || sp->session_id() == 0)) {
      return InvalidField(p + ".session_id",
                          "required for an external endpoint in STATIC mode: the session ID "
                          "the external peer receives on (its local session ID)");
    }
    if (sp == nullptr) continue;
    size_t n = sp->cookie().size();
    if (n != 0 && n != cookie_length) {
      return InvalidField(p + ".cookie",
                          absl::StrCat("is ", n, " octets but the class asks for ", cookie_length,
                                       "; match the class's "
                                       "cookie_length"));
    }
    if (external && n == 0 && cookie_length != 0) {
      return InvalidField(p + ".cookie",
                          absl::StrCat("required: the class asks for ", cookie_length,
                                       "-octet cookies and the external peer's is not known"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDuration(const google::protobuf::Duration& d, absl::string_view path,
                              int64_t max_seconds) {
  if (d.seconds() < 0 || d.nanos() < 0 || d.nanos() > 999999999 || d.seconds() > max_seconds) {
    return InvalidField(path, absl::StrCat("must be between 0s and ", max_seconds, "s"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsIpAddress(absl::string_view address) {
  std::string a(address);
  unsigned char buf[16];
  return inet_pton(AF_INET, a.c_str(), buf) == 1 || inet_pton(AF_INET6, a.c_str(), buf) == 1;
}

bool IsIpv6Address(absl::string_view address) {
  std::string a(address);
  unsigned char buf[16];
  return inet_pton(AF_INET6, a.c_str(), buf) == 1;
}

absl::Status ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels,
                            absl::string_view path) {
  if (labels.size() > 64) return InvalidField(path, "at most 64 labels");
  for (const auto& [k, v] : labels) {
    bool ok = !k.empty() && k.size() <= 63;
    for (char c : k) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                  c == '/' || c == '-');
    }
    if (!ok) {
      return InvalidField(absl::StrCat(path, "[", k, "]"),
                          "label keys are 1-63 characters of [a-z0-9_./-]");
    }
    if (v.size() > 63) {
      return InvalidField(absl::StrCat(path, "[", k, "]"),
                          "label values are at most 63 "
                          "characters");
    }
  }
  return absl::OkStatus();
}

absl::Status NormalizePseudowireSpec(PseudowireSpec& spec) {
  if (!spec.pseudowire_class().empty()) {
    auto id = ParseId(spec.pseudowire_class(), kClasses, "spec.pseudowire_class");
    if (!id.ok()) return id.status();
    spec.set_pseudowire_class(MakeName(kClasses, *id));
  }
  for (int i = 0; i < spec.endpoints_size(); ++i) {
    if (!spec.endpoints(i).has_agent()) continue;
    auto* a = spec.mutable_endpoints(i)->mutable_agent();
    auto id = ParseId(a->agent(), kAgents, absl::StrCat("spec.endpoints[", i, "].agent.agent"));
    if (!id.ok()) return id.status();
    a->set_agent(MakeName(kAgents, *id));
  }
  if (spec.mode() == PseudowireSpec::MODE_UNSPECIFIED) spec.set_mode(PseudowireSpec::DYNAMIC);
  return absl::OkStatus();
}

absl::Status ValidatePseudowireSpec(const PseudowireSpec& spec, const ReferenceLookup& lookup) {
  if (spec.type() == PseudowireSpec::TYPE_UNSPECIFIED ||
      !PseudowireSpec::Type_IsValid(spec.type())) {
    return InvalidField("spec.type",
                        "required: ETHERNET, ETHERNET_VLAN, FRAME_RELAY_DLCI, "
                        "ATM_AAL5_SDU, ATM_CELL_VCC, ATM_CELL_VPC, ATM_CELL_PORT, "
                        "HDLC or PPP");
  }
  if (!PseudowireSpec::Mode_IsValid(spec.mode())) {
    return InvalidField("spec.mode", "must be DYNAMIC or STATIC");
  }
  uint32_t cookie_length = 0;
  if (!spec.pseudowire_class().empty()) {
    std::string id = spec.pseudowire_class().substr(kClasses.size() + 1);
    const PseudowireClass* c = lookup.FindClass(id);
    if (c == nullptr) {
      return FailedField("spec.pseudowire_class",
                         absl::StrCat("class '", id,
                                      "' does not exist; create it first (pwctl "
                                      "class create) or apply it in the same file"));
    }
    cookie_length = c->cookie_length();
  }
  if (auto s = ValidateEndpoints(spec, lookup); !s.ok()) return s;
  if (auto s = ValidateStatic(spec, cookie_length); !s.ok()) return s;
  if (spec.description().size() > kMaxDescription) {
    return InvalidField("spec.description", "at most 1024 characters");
  }
  return ValidateLabels(spec.labels(), "spec.labels");
}

absl::Status ValidateClass(const PseudowireClass& c) {
  if (!PseudowireClass::Encapsulation_IsValid(c.encapsulation())) {
    return InvalidField("encapsulation", "must be UDP or IP");
  }
  if (!PseudowireClass::AddressFamily_IsValid(c.address_family())) {
    return InvalidField("address_family", "must be IPV4 or IPV6");
  }
  if (c.udp_port() > 65535) return InvalidField("udp_port", "must be 0 (1701) or 1-65535");
  if (c.encapsulation() == PseudowireClass::IP && c.udp_port() != 0) {
    return InvalidField("udp_port", "IP encapsulation has no UDP port; remove udp_port");
  }
  if (c.cookie_length() != 0 && c.cookie_length() != 4 && c.cookie_length() != 8) {
    return InvalidField("cookie_length", "must be 0, 4 or 8 (octets)");
  }
  if (!PseudowireClass::L2Sublayer_IsValid(c.l2_sublayer())) {
    return InvalidField("l2_sublayer", "must be NO_SUBLAYER or DEFAULT_SUBLAYER");
  }
  // RFC 3931 §4.6: sequence numbers ride in the default L2-Specific Sublayer; asking the peer
  // to sequence (§5.4.4 Data Sequencing AVP) while asking for no sublayer cannot work.
  if (c.data_sequencing() && c.l2_sublayer() == PseudowireClass::NO_SUBLAYER) {
    return InvalidField("data_sequencing",
                        "needs l2_sublayer DEFAULT_SUBLAYER (sequence numbers ride in it)");
  }
  if (auto s = ValidateDuration(c.hello_interval(), "hello_interval", 3600); !s.ok()) return s;
  if (auto s = ValidateDuration(c.retransmit_timeout(), "retransmit_timeout", 60); !s.ok()) {
    return s;
  }
  if (auto s = ValidateDuration(c.retransmit_timeout_max(), "retransmit_timeout_max", 600);
      !s.ok()) {
    return s;
  }
  if (c.has_retransmit_timeout() && c.has_retransmit_timeout_max() &&
      c.retransmit_timeout_max().seconds() < c.retransmit_timeout().seconds()) {
    return InvalidField("retransmit_timeout_max", "must not be below retransmit_timeout");
  }
  if (auto s = ValidateDuration(c.reorder_timeout(), "reorder_timeout", 10); !s.ok()) return s;
  if (c.retransmit_retries() > 100) return InvalidField("retransmit_retries", "at most 100");
  if (c.receive_window() > 65535) return InvalidField("receive_window", "at most 65535");
  if (!PseudowireClass::ControlAuth_IsValid(c.control_auth())) {
    return InvalidField("control_auth", "must be NO_AUTH, HMAC_MD5 or HMAC_SHA1");
  }
  bool auth = c.control_auth() == PseudowireClass::HMAC_MD5 ||
              c.control_auth() == PseudowireClass::HMAC_SHA1;
  if (auth && c.control_secret().empty()) {
    return InvalidField("control_secret",
                        "required when control_auth is HMAC_MD5 or HMAC_SHA1 (RFC 3931 §4.3)");
  }
  if (!auth && !c.control_secret().empty()) {
    return InvalidField("control_secret",
                        "set but control_auth is NO_AUTH; set control_auth or drop the secret");
  }
  if (c.control_secret().size() > 255) return InvalidField("control_secret", "at most 255");
  if (c.mtu() != 0 && (c.mtu() < 68 || c.mtu() > 65535)) {
    return InvalidField("mtu", "must be 0 (automatic) or 68-65535");
  }
  if (!PseudowireClass::DfPolicy_IsValid(c.df_policy())) {
    return InvalidField("df_policy", "must be DF_CLEAR, DF_SET or DF_COPY");
  }
  if (c.tos() > 255) return InvalidField("tos", "must be 0-255");
  if (c.description().size() > kMaxDescription) {
    return InvalidField("description", "at most 1024 characters");
  }
  return ValidateLabels(c.labels(), "labels");
}

PseudowireClass ResolveClassDefaults(const PseudowireClass& in) {
  using google::protobuf::util::TimeUtil;
  PseudowireClass c = in;
  if (c.encapsulation() == PseudowireClass::ENCAPSULATION_UNSPECIFIED) {
    c.set_encapsulation(PseudowireClass::UDP);
  }
  if (c.encapsulation() == PseudowireClass::UDP && c.udp_port() == 0) c.set_udp_port(1701);
  if (c.l2_sublayer() == PseudowireClass::L2_SUBLAYER_UNSPECIFIED) {
    c.set_l2_sublayer(PseudowireClass::DEFAULT_SUBLAYER);
  }
  if (!c.has_hello_interval()) *c.mutable_hello_interval() = TimeUtil::SecondsToDuration(60);
  if (!c.has_retransmit_timeout()) {
    *c.mutable_retransmit_timeout() = TimeUtil::SecondsToDuration(1);
  }
  if (!c.has_retransmit_timeout_max()) {
    *c.mutable_retransmit_timeout_max() = TimeUtil::SecondsToDuration(8);
  }
  if (c.retransmit_retries() == 0) c.set_retransmit_retries(10);
  if (c.receive_window() == 0) c.set_receive_window(4);
  if (c.control_auth() == PseudowireClass::CONTROL_AUTH_UNSPECIFIED) {
    c.set_control_auth(PseudowireClass::NO_AUTH);
  }
  if (c.df_policy() == PseudowireClass::DF_POLICY_UNSPECIFIED) {
    c.set_df_policy(PseudowireClass::DF_CLEAR);
  }
  return c;
}

}  // namespace pwire::server
