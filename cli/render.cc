// Class and agent tables, apply/diff results, the status screen and watch lines (render.h).
#include "render.h"

#include <google/protobuf/util/time_util.h>

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "table.h"

namespace pwire::cli {
namespace {

using google::protobuf::util::TimeUtil;

std::string DurationCell(const google::protobuf::Duration& d, bool has, const char* dflt) {
  if (!has) return dflt;
  return TimeUtil::ToString(d);
}

std::string ClassWord(const google::protobuf::EnumDescriptor* type, int value, const char* dflt) {
  std::string word = EnumWord(type, value);
  return word == "-" ? dflt : word;
}

std::string AgentState(const v1::Agent& a) {
  std::string state = EnumWord(v1::Agent::ConnectionState_descriptor(), a.connection_state());
  return a.stale() ? absl::StrCat(state, ",stale") : state;
}

std::string DataPlanes(const v1::Agent& a) {
  std::vector<std::string> planes;
  for (int p : a.capabilities().data_planes()) {
    planes.push_back(EnumWord(v1::DataPlane_descriptor(), p));
  }
  return planes.empty() ? "-" : absl::StrJoin(planes, ",");
}

std::string ActionWord(v1::ResourceChange::Action action, bool dry_run) {
  switch (action) {
    case v1::ResourceChange::CREATED:
      return dry_run ? "create" : "created";
    case v1::ResourceChange::UPDATED:
      return dry_run ? "update" : "updated";
    case v1::ResourceChange::UNCHANGED:
      return "unchanged";
    default:
      return "-";
  }
}

}  // namespace

std::string ClassTable(const std::vector<v1::PseudowireClass>& classes, int64_t now, bool wide) {
  std::vector<std::string> headers = {"NAME", "ENCAP", "PORT",  "COOKIE", "SUBLAYER",
                                      "SEQ",  "AUTH",  "HELLO", "AGE"};
  if (wide) {
    for (const char* h : {"MTU", "DF", "TOS", "GEN"}) headers.push_back(h);
  }
  Table table(headers);
  for (const v1::PseudowireClass& c : classes) {
    std::string encap =
        ClassWord(v1::PseudowireClass::Encapsulation_descriptor(), c.encapsulation(), "udp");
    std::vector<std::string> row = {
        ShortName(c.name()),
        encap,
        encap == "ip" ? "-" : absl::StrCat(c.udp_port() == 0 ? 1701 : c.udp_port()),
        absl::StrCat(c.cookie_length()),
        ClassWord(v1::PseudowireClass::L2Sublayer_descriptor(), c.l2_sublayer(),
                  "default-sublayer"),
        c.data_sequencing() ? "on" : "off",
        ClassWord(v1::PseudowireClass::ControlAuth_descriptor(), c.control_auth(), "no-auth"),
        DurationCell(c.hello_interval(), c.has_hello_interval(), "60s"),
        Age(c.create_time(), now)};
    if (wide) {
      row.push_back(c.mtu() == 0 ? "auto" : absl::StrCat(c.mtu()));
      row.push_back(
          ClassWord(v1::PseudowireClass::DfPolicy_descriptor(), c.df_policy(), "df-clear"));
      row.push_back(absl::StrCat(c.tos()));
      row.push_back(absl::StrCat(c.generation()));
    }
    table.AddRow(std::move(row));
  }
  return table.Render();
}

std::string ClassDetail(const v1::PseudowireClass& c, int64_t now) {
  // The one-resource view of a class is its table in wide form plus the description: a
  // class has no status, so nothing else would be worth a second screen.
  std::string out = ClassTable({c}, now, true);
  absl::StrAppend(&out, "\nDescription:  ", OrDash(c.description()), "\n");
  absl::StrAppend(&out, "Retransmit:   ",
                  DurationCell(c.retransmit_timeout(), c.has_retransmit_timeout(), "1s"),
                  " doubling to ",
                  DurationCell(c.retransmit_timeout_max(), c.has_retransmit_timeout_max(), "8s"),
                  ", ", c.retransmit_retries() == 0 ? 10 : c.retransmit_retries(), " retries\n");
  absl::StrAppend(&out, "Window:       ", c.receive_window() == 0 ? 4 : c.receive_window(), "\n");
  absl::StrAppend(&out, "Etag:         ", OrDash(c.etag()), "\n");
  return out;
}

std::string AgentTable(const std::vector<v1::Agent>& agents, int64_t now, bool wide) {
  std::vector<std::string> headers = {"NAME", "STATE",       "HOSTNAME", "ADDRESSES",
                                      "PWS",  "DATA-PLANES", "VERSION",  "LAST-SEEN"};
  if (wide) {
    for (const char* h : {"ROUTER-ID", "DESIRED", "ACKED", "TUNNELS"}) headers.push_back(h);
  }
  Table table(headers);
  for (const v1::Agent& a : agents) {
    std::vector<std::string> row = {
        ShortName(a.name()),
        AgentState(a),
        OrDash(a.hostname()),
        a.underlay_addresses().empty() ? "-" : absl::StrJoin(a.underlay_addresses(), ","),
        absl::StrCat(a.pseudowire_count()),
        DataPlanes(a),
        OrDash(a.software_version()),
        Age(a.last_seen_time(), now)};
    if (wide) {
      row.push_back(absl::StrCat(a.router_id()));
      row.push_back(absl::StrCat(a.desired_version()));
      row.push_back(absl::StrCat(a.acked_version()));
      row.push_back(absl::StrCat(a.control_connections_size()));
    }
    table.AddRow(std::move(row));
  }
  return table.Render();
}

std::string AgentDetail(const v1::Agent& a, int64_t now) {
  std::string out = AgentTable({a}, now, true);
  std::vector<std::string> types;
  for (int t : a.capabilities().pseudowire_types()) {
    types.push_back(EnumWord(v1::PseudowireSpec::Type_descriptor(), t));
  }
  absl::StrAppend(&out, "\nPW types:     ", types.empty() ? "-" : absl::StrJoin(types, ","), "\n");
  absl::StrAppend(&out, "Kernel L2TP:  ", a.capabilities().kernel_l2tp() ? "yes" : "no", "   IPv6 ",
                  a.capabilities().ipv6() ? "yes" : "no", "\n");
  absl::StrAppend(&out, "Peer:         ", OrDash(a.peer()), "\n");
  if (!a.last_nack().empty()) absl::StrAppend(&out, "Last nack:    ", a.last_nack(), "\n");
  if (a.control_connections_size() > 0) {
    absl::StrAppend(&out, "\n");
    Table tunnels(
        {"TUNNEL", "PEER", "HOSTNAME", "STATE", "SESSIONS", "RETRANSMITS", "UP", "LAST-ERROR"});
    for (const v1::ControlConnectionStatus& cc : a.control_connections()) {
      tunnels.AddRow({absl::StrCat(cc.local_id(), "/", cc.remote_id()), OrDash(cc.peer_address()),
                      OrDash(cc.peer_hostname()),
                      EnumWord(v1::ControlConnectionState_descriptor(), cc.state()),
                      absl::StrCat(cc.session_count()), absl::StrCat(cc.retransmits()),
                      Age(cc.established_time(), now), OrDash(cc.last_error())});
    }
    absl::StrAppend(&out, tunnels.Render());
  }
  return out;
}

bool HasChanges(const v1::ApplyResponse& response) {
  for (const v1::ResourceChange& c : response.changes()) {
    if (c.action() == v1::ResourceChange::CREATED || c.action() == v1::ResourceChange::UPDATED) {
      return true;
    }
  }
  return false;
}

std::string ApplyResult(const v1::ApplyResponse& response) {
  bool dry = response.validate_only();
  Table table({"NAME", "ACTION", "GEN", "CHANGED-FIELDS"});
  std::map<int, int> counts;
  for (const v1::ResourceChange& c : response.changes()) {
    ++counts[c.action()];
    table.AddRow({c.name(), ActionWord(c.action(), dry), absl::StrCat(c.generation()),
                  c.changed_fields().empty() ? "-" : absl::StrJoin(c.changed_fields(), ",")});
  }
  std::string out = table.Render();
  absl::StrAppend(&out, "\n", dry ? "dry run, nothing changed: would create " : "created ",
                  counts[v1::ResourceChange::CREATED], dry ? ", would update " : ", updated ",
                  counts[v1::ResourceChange::UPDATED], ", unchanged ",
                  counts[v1::ResourceChange::UNCHANGED], "\n");
  return out;
}

std::string DiffResult(const v1::ApplyResponse& response) {
  std::string out;
  for (const v1::ResourceChange& c : response.changes()) {
    if (c.action() == v1::ResourceChange::CREATED) {
      absl::StrAppend(&out, "+ ", c.name(), "   (new)\n");
    } else if (c.action() == v1::ResourceChange::UPDATED) {
      absl::StrAppend(&out, "~ ", c.name(), "   ", absl::StrJoin(c.changed_fields(), ", "), "\n");
    }
  }
  if (out.empty()) out = "no changes: the server already has what the file says\n";
  return out;
}

std::string StatusScreen(const std::string& target, const v1::ServerStatus& s,
                         const std::vector<v1::Agent>& agents,
                         const std::vector<v1::Pseudowire>& problems, int64_t now) {
  std::string out;
  absl::StrAppend(&out, "Server:       up at ", target, "   version ", OrDash(s.version()),
                  "   uptime ", Age(s.start_time(), now), "\n");
  absl::StrAppend(&out, "Store:        ", OrDash(s.store()), "   revision ", s.revision(),
                  "   watchers ", s.watchers(), "\n");
  int stale = 0, connected = 0;
  for (const v1::Agent& a : agents) {
    if (a.stale()) ++stale;
    if (a.connection_state() == v1::Agent::CONNECTED) ++connected;
  }
  absl::StrAppend(&out, "Agents:       ", s.agent_count(), " known   ", connected, " connected   ",
                  static_cast<int>(agents.size()) - connected, " not connected   ", stale,
                  " stale\n");
  std::vector<std::string> states;
  std::map<std::string, int> sorted(s.pseudowires_by_state().begin(),
                                    s.pseudowires_by_state().end());
  states.reserve(sorted.size());
  for (const auto& [state, count] : sorted) {
    states.push_back(absl::StrCat(absl::AsciiStrToLower(state), " ", count));
  }
  absl::StrAppend(&out, "Pseudowires:  ", s.pseudowire_count(), " total",
                  states.empty() ? "" : "   ", absl::StrJoin(states, "   "), "\n");
  absl::StrAppend(&out, "Classes:      ", s.class_count(), "\n");
  std::vector<v1::Agent> troubled;
  for (const v1::Agent& a : agents) {
    if (a.stale() || a.connection_state() != v1::Agent::CONNECTED) troubled.push_back(a);
  }
  if (!troubled.empty()) {
    absl::StrAppend(&out, "\nAgents not connected or stale:\n", AgentTable(troubled, now, false));
  }
  if (!problems.empty()) {
    absl::StrAppend(&out, "\nPseudowires down, degraded or stale:\n",
                    PseudowireTable(problems, now, false));
  }
  if (troubled.empty() && problems.empty()) absl::StrAppend(&out, "\nNo problems.\n");
  return out;
}

std::string WatchLine(const v1::WatchEvent& e) {
  std::string time = e.has_time() ? TimeUtil::ToString(e.time()) : "-";
  std::string type = EnumWord(v1::WatchEvent::Type_descriptor(), e.type());
  if (e.type() == v1::WatchEvent::SYNC) {
    return absl::StrCat(time, "   sync   (initial snapshot complete, revision ", e.revision(),
                        ")\n");
  }
  std::string detail;
  if (e.has_pseudowire()) {
    const v1::Pseudowire& pw = e.pseudowire();
    detail = absl::StrCat(EnumWord(v1::PseudowireStatus::State_descriptor(), pw.status().state()),
                          " gen ", pw.generation());
  } else if (e.has_agent()) {
    detail = EnumWord(v1::Agent::ConnectionState_descriptor(), e.agent().connection_state());
  } else if (e.has_pseudowire_class()) {
    detail = absl::StrCat("gen ", e.pseudowire_class().generation());
  }
  return absl::StrCat(time, "   ", type, "   ", e.name(), "   ", detail, "\n");
}

}  // namespace pwire::cli
