// Pseudowire tables and details (see render.h), plus the shared naming helpers.
#include <google/protobuf/util/time_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "render.h"
#include "table.h"
#include "yaml_mapping.h"

namespace pwire::cli {
namespace {

using google::protobuf::util::TimeUtil;

// Short words for session states in the STATE(A/B) column.
std::string SessionWord(const v1::EndpointStatus& s) {
  if (s.stale()) return "stale";
  switch (s.session_state()) {
    case v1::SESSION_IDLE:
      return "idle";
    case v1::SESSION_WAIT_CONTROL_CONNECTION:
      return "wait-cc";
    case v1::SESSION_WAIT_REPLY:
      return "wait-reply";
    case v1::SESSION_ESTABLISHED:
      return "est";
    case v1::SESSION_FAILED:
      return "failed";
    case v1::SESSION_STATIC:
      return "static";
    default:
      return "-";
  }
}

const v1::EndpointStatus* StatusOf(const v1::Pseudowire& pw, int index) {
  if (index < pw.status().endpoints_size()) return &pw.status().endpoints(index);
  return nullptr;
}

std::string StateCell(const v1::Pseudowire& pw) {
  std::string state = EnumWord(v1::PseudowireStatus::State_descriptor(), pw.status().state());
  const v1::EndpointStatus* a = StatusOf(pw, 0);
  const v1::EndpointStatus* b = StatusOf(pw, 1);
  return absl::StrCat(state, "(", a != nullptr ? SessionWord(*a) : "-", "/",
                      b != nullptr ? SessionWord(*b) : "-", ")");
}

// Local session IDs of both ends ("4711/9021"): from status, else the static allocation.
std::string SessionIdsCell(const v1::Pseudowire& pw) {
  auto id = [&](int i) -> std::string {
    const v1::EndpointStatus* s = StatusOf(pw, i);
    if (s != nullptr && s->local_session_id() != 0) return absl::StrCat(s->local_session_id());
    if (i < pw.allocation().endpoints_size() && pw.allocation().endpoints(i).session_id() != 0) {
      return absl::StrCat(pw.allocation().endpoints(i).session_id());
    }
    return "-";
  };
  std::string a = id(0), b = id(1);
  return a == "-" && b == "-" ? "-" : absl::StrCat(a, "/", b);
}

v1::Counters TotalCounters(const v1::Pseudowire& pw) {
  v1::Counters total;
  for (const v1::EndpointStatus& s : pw.status().endpoints()) {
    const v1::Counters& c = s.counters();
    total.set_rx_packets(total.rx_packets() + c.rx_packets());
    total.set_tx_packets(total.tx_packets() + c.tx_packets());
    total.set_rx_errors(total.rx_errors() + c.rx_errors() + c.rx_cookie_discards() +
                        c.rx_seq_discards() + c.rx_invalid());
    total.set_tx_errors(total.tx_errors() + c.tx_errors());
  }
  return total;
}

std::string CircuitWord(const v1::CircuitStatus& c) {
  std::vector<std::string> bits;
  bits.push_back(c.active() ? "active" : "inactive");
  if (c.ac_receive_fault()) bits.push_back("ac-rx-fault");
  if (c.ac_transmit_fault()) bits.push_back("ac-tx-fault");
  if (c.psn_receive_fault()) bits.push_back("psn-rx-fault");
  if (c.psn_transmit_fault()) bits.push_back("psn-tx-fault");
  if (c.standby()) bits.push_back("standby");
  return absl::StrJoin(bits, ",");
}

std::string Labels(const google::protobuf::Map<std::string, std::string>& labels) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : labels) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> parts;
  parts.reserve(keys.size());
  for (const std::string& k : keys) parts.push_back(absl::StrCat(k, "=", labels.at(k)));
  return parts.empty() ? "-" : absl::StrJoin(parts, ",");
}

std::string Time(const google::protobuf::Timestamp& t, int64_t now) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::StrCat(TimeUtil::ToString(t), " (", Age(t, now), " ago)");
}

void AppendEndpointStatus(std::string& out, const v1::EndpointStatus& s, int64_t now) {
  absl::StrAppend(&out, "      session:    ", SessionWord(s),
                  s.stale() ? " (stale: the agent is silent, values are old)" : "", "\n");
  if (!s.control_connection().empty() || s.local_control_connection_id() != 0) {
    absl::StrAppend(&out, "      tunnel:     ", s.local_control_connection_id(), "/",
                    s.remote_control_connection_id(), "\n");
  }
  absl::StrAppend(&out, "      session-id: ", s.local_session_id(), "/", s.remote_session_id(),
                  "   cookies ", s.local_cookie_length(), "/", s.remote_cookie_length());
  const auto* sublayers = v1::PseudowireClass::L2Sublayer_descriptor();
  if (s.tx_l2_sublayer() != v1::PseudowireClass::L2_SUBLAYER_UNSPECIFIED) {
    // Negotiated per direction (RFC 3931 §5.4.4): tx what this end sends, rx what it receives.
    absl::StrAppend(&out, "   sublayer tx ", EnumWord(sublayers, s.tx_l2_sublayer()), " rx ",
                    EnumWord(sublayers, s.rx_l2_sublayer()), "   seq tx ",
                    s.tx_sequencing() ? "on" : "off", " rx ", s.rx_sequencing() ? "on" : "off",
                    "\n");
  } else {
    absl::StrAppend(&out, "   sublayer ", EnumWord(sublayers, s.l2_sublayer()), "   seq ",
                    s.sequencing() ? "on" : "off", "\n");
  }
  absl::StrAppend(&out, "      circuit:    local ", CircuitWord(s.local_circuit()), "   remote ",
                  CircuitWord(s.remote_circuit()), "\n");
  if (!s.interface_name().empty() || s.data_plane() != v1::DATA_PLANE_UNSPECIFIED) {
    absl::StrAppend(&out, "      interface:  ", OrDash(s.interface_name()), "   data plane ",
                    EnumWord(v1::DataPlane_descriptor(), s.data_plane()), "\n");
  }
  const v1::Counters& c = s.counters();
  absl::StrAppend(&out, "      rx:         ", c.rx_packets(), " pkts ", FormatBytes(c.rx_bytes()),
                  "   errors ", c.rx_errors(), "   cookie-discards ", c.rx_cookie_discards(),
                  "   seq-discards ", c.rx_seq_discards(), "   out-of-seq ", c.rx_oos_packets(),
                  "   invalid ", c.rx_invalid(), "\n");
  absl::StrAppend(&out, "      tx:         ", c.tx_packets(), " pkts ", FormatBytes(c.tx_bytes()),
                  "   errors ", c.tx_errors(), "\n");
  absl::StrAppend(&out, "      generation: ", s.observed_generation(), "   reported ",
                  Time(s.report_time(), now), "\n");
  if (!s.last_error().empty()) absl::StrAppend(&out, "      last error: ", s.last_error(), "\n");
}

}  // namespace

std::string ShortName(const std::string& name) {
  for (const char* prefix : {"pseudowires/", "classes/", "agents/"}) {
    if (absl::StartsWith(name, prefix)) return name.substr(std::string(prefix).size());
  }
  return name;
}

std::string EnumWord(const google::protobuf::EnumDescriptor* type, int value) {
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByNumber(value);
  if (v == nullptr) return absl::StrCat(value);
  if (absl::EndsWith(v->name(), "UNSPECIFIED")) return "-";
  std::string word = absl::AsciiStrToLower(absl::StripPrefix(v->name(), EnumValuePrefix(type)));
  std::replace(word.begin(), word.end(), '_', '-');
  return word;
}

std::string Age(const google::protobuf::Timestamp& t, int64_t now_seconds) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return FormatAge(now_seconds - t.seconds());
}

std::string EndpointCell(const v1::Endpoint& e) {
  if (e.has_external()) {
    const v1::ExternalPeer& p = e.external();
    std::string cell = absl::StrCat("peer ", OrDash(p.address()));
    if (p.vc_id() != 0) absl::StrAppend(&cell, " vc ", p.vc_id());
    return cell;
  }
  if (!e.has_agent()) return "-";
  const v1::AgentEndpoint& a = e.agent();
  const v1::AttachmentCircuit& c = a.circuit();
  std::string cell = absl::StrCat(OrDash(ShortName(a.agent())), "/");
  if (!c.bridge().empty()) {
    absl::StrAppend(&cell, "br:", c.bridge());
  } else {
    absl::StrAppend(&cell, OrDash(c.interface()));
  }
  if (c.vlan_id() != 0) absl::StrAppend(&cell, ".", c.vlan_id());
  if (c.dlci() != 0) absl::StrAppend(&cell, " dlci ", c.dlci());
  if (c.vpi() != 0 || c.vci() != 0) absl::StrAppend(&cell, " ", c.vpi(), "/", c.vci());
  return cell;
}

std::string PseudowireTable(const std::vector<v1::Pseudowire>& pws, int64_t now, bool wide) {
  std::vector<std::string> headers = {"NAME",       "TYPE",        "A-END", "B-END",
                                      "STATE(A/B)", "SESSION-IDS", "AGE"};
  if (wide) {
    for (const char* h : {"CLASS", "MODE", "GEN", "RX-PKTS", "TX-PKTS", "ERRORS"}) {
      headers.push_back(h);
    }
  }
  Table table(headers);
  for (const v1::Pseudowire& pw : pws) {
    const v1::PseudowireSpec& spec = pw.spec();
    std::vector<std::string> row = {
        ShortName(pw.name()),
        EnumWord(v1::PseudowireSpec::Type_descriptor(), spec.type()),
        spec.endpoints_size() > 0 ? EndpointCell(spec.endpoints(0)) : "-",
        spec.endpoints_size() > 1 ? EndpointCell(spec.endpoints(1)) : "-",
        StateCell(pw),
        SessionIdsCell(pw),
        Age(pw.create_time(), now)};
    if (wide) {
      v1::Counters total = TotalCounters(pw);
      std::string mode = EnumWord(v1::PseudowireSpec::Mode_descriptor(), spec.mode());
      row.push_back(OrDash(ShortName(spec.pseudowire_class())));
      row.push_back(mode == "-" ? "dynamic" : mode);
      row.push_back(absl::StrCat(pw.generation()));
      row.push_back(absl::StrCat(total.rx_packets()));
      row.push_back(absl::StrCat(total.tx_packets()));
      row.push_back(absl::StrCat(total.rx_errors() + total.tx_errors()));
    }
    table.AddRow(std::move(row));
  }
  return table.Render();
}

std::string PseudowireDetail(const v1::Pseudowire& pw, int64_t now) {
  const v1::PseudowireSpec& spec = pw.spec();
  std::string mode = EnumWord(v1::PseudowireSpec::Mode_descriptor(), spec.mode());
  std::string out;
  absl::StrAppend(&out, "Name:         ", ShortName(pw.name()), "\n");
  absl::StrAppend(
      &out, "Type:         ", EnumWord(v1::PseudowireSpec::Type_descriptor(), spec.type()), "\n");
  absl::StrAppend(&out, "Class:        ", OrDash(ShortName(spec.pseudowire_class())), "\n");
  absl::StrAppend(&out, "Mode:         ", mode == "-" ? "dynamic" : mode, "\n");
  absl::StrAppend(&out, "Description:  ", OrDash(spec.description()), "\n");
  absl::StrAppend(&out, "Labels:       ", Labels(spec.labels()), "\n");
  absl::StrAppend(&out, "State:        ", StateCell(pw), spec.disabled() ? "   (disabled)" : "",
                  "\n");
  absl::StrAppend(&out, "Generation:   ", pw.generation(), "   etag ", OrDash(pw.etag()), "\n");
  absl::StrAppend(&out, "Created:      ", Time(pw.create_time(), now), "\n");
  absl::StrAppend(&out, "Updated:      ", Time(pw.update_time(), now), "\n");
  absl::StrAppend(&out, "Endpoints:\n");
  for (int i = 0; i < spec.endpoints_size(); ++i) {
    bool initiator = static_cast<int>(pw.allocation().initiator()) == i;
    absl::StrAppend(&out, "  ", i == 0 ? "A" : "B", ":  ", EndpointCell(spec.endpoints(i)),
                    initiator ? "   (initiator)" : "", "\n");
    if (i < pw.allocation().endpoints_size()) {
      const v1::SessionParams& p = pw.allocation().endpoints(i);
      absl::StrAppend(&out, "      static:     session-id ", p.session_id(), "   tunnel-id ",
                      p.control_connection_id(), "   cookie ", p.cookie().size(), " bytes\n");
    }
    const v1::EndpointStatus* s = StatusOf(pw, i);
    bool reported = s != nullptr &&
                    (s->has_report_time() || s->session_state() != v1::SESSION_STATE_UNSPECIFIED);
    if (!reported) {
      absl::StrAppend(&out, "      status:     none reported yet\n");
    } else {
      AppendEndpointStatus(out, *s, now);
    }
  }
  return out;
}

}  // namespace pwire::cli
