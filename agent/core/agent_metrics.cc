// Agent::CollectMetrics: the Prometheus families, built from live state at each scrape.
#include "agent/core/agent.h"

namespace pwire::agent {
namespace {

MetricFamily Family(std::string name, std::string help, std::string type) {
  return MetricFamily{std::move(name), std::move(help), std::move(type), {}};
}

std::string_view StateName(LinkState s) {
  switch (s) {
    case LinkState::kConnecting:
      return "connecting";
    case LinkState::kEstablished:
      return "established";
    case LinkState::kClosing:
      return "closing";
  }
  return "unknown";
}

}  // namespace

std::vector<MetricFamily> Agent::CollectMetrics() const {
  std::vector<MetricFamily> out;
  auto tunnels = Family("pwire_agent_tunnels", "Control connections (tunnels) by state.", "gauge");
  std::map<std::string, double> by_state = {
      {"connecting", 0}, {"established", 0}, {"closing", 0}, {"static", 0}};
  for (const auto& [id, t] : cp_.tunnels()) by_state[std::string(StateName(t.state))]++;
  by_state["static"] += static_tunnels_;
  for (const auto& [st, n] : by_state) tunnels.samples.push_back({{{"state", st}}, n});
  out.push_back(std::move(tunnels));

  auto sessions = Family("pwire_agent_sessions", "Sessions by state.", "gauge");
  std::map<std::string, double> sess = {
      {"connecting", 0}, {"established", 0}, {"closing", 0}, {"static", 0}, {"down", 0}};
  for (const auto& [name, s] : cp_.sessions()) sess[std::string(StateName(s.state))]++;
  auto names = SessionNames();
  std::set<std::string> programmed;
  for (const auto& s : programmed_) {
    auto n = names.find({s.tunnel_id, s.local_session_id});
    if (n != names.end()) programmed.insert(n->second);
  }
  for (const auto& [name, pw] : desired_.pseudowires) {
    if (pw.is_static) {
      sess[programmed.count(name) ? "static" : "down"]++;
    } else if (!cp_.sessions().count(name)) {
      sess["down"]++;
    }
  }
  for (const auto& [st, n] : sess) sessions.samples.push_back({{{"state", st}}, n});
  out.push_back(std::move(sessions));

  auto cs = cp_.stats();
  out.push_back({"pwire_agent_control_retransmissions_total",
                 "Control messages retransmitted (RFC 3931 §4.2).",
                 "counter",
                 {{{}, double(cs.retransmissions)}}});
  out.push_back({"pwire_agent_control_auth_failures_total",
                 "Control messages that failed message digest checks (RFC 3931 §4.3).",
                 "counter",
                 {{{}, double(cs.auth_failures)}}});
  out.push_back({"pwire_agent_refused_total",
                 "Peer-initiated tunnels and sessions refused (matched nothing desired).",
                 "counter",
                 {{{{"kind", "tunnel"}}, double(cs.refused_tunnels)},
                  {{{"kind", "session"}}, double(cs.refused_sessions)}}});

  auto pk = Family("pwire_agent_session_packets_total", "Data packets per session.", "counter");
  auto by = Family("pwire_agent_session_bytes_total", "Data bytes per session.", "counter");
  auto dr =
      Family("pwire_agent_session_drops_total", "Data packets dropped per session.", "counter");
  for (const auto& s : programmed_) {
    auto n = names.find({s.tunnel_id, s.local_session_id});
    if (n == names.end()) continue;
    auto st = dp_.SessionStats(s.tunnel_id, s.local_session_id);
    if (!st.ok()) continue;
    const std::string& pw = n->second;
    pk.samples.push_back({{{"pseudowire", pw}, {"direction", "rx"}}, double(st->rx_packets)});
    pk.samples.push_back({{{"pseudowire", pw}, {"direction", "tx"}}, double(st->tx_packets)});
    by.samples.push_back({{{"pseudowire", pw}, {"direction", "rx"}}, double(st->rx_bytes)});
    by.samples.push_back({{{"pseudowire", pw}, {"direction", "tx"}}, double(st->tx_bytes)});
    dr.samples.push_back(
        {{{"pseudowire", pw}, {"reason", "cookie"}}, double(st->rx_cookie_discards)});
    dr.samples.push_back(
        {{{"pseudowire", pw}, {"reason", "sequence"}}, double(st->rx_seq_discards)});
    dr.samples.push_back({{{"pseudowire", pw}, {"reason", "rx_error"}}, double(st->rx_errors)});
    dr.samples.push_back({{{"pseudowire", pw}, {"reason", "tx_error"}}, double(st->tx_errors)});
  }
  out.push_back(std::move(pk));
  out.push_back(std::move(by));
  out.push_back(std::move(dr));
  auto g = dp_.GlobalStats();
  // Unknown session: what the data plane dropped, and data packets on the agent's control
  // sockets (from an address with no tunnel, or passed up by the kernel for a session it
  // lacks), which the control plane drops.
  g.rx_unknown_session += cs.data_unknown_session;
  out.push_back({"pwire_agent_dataplane_discards_total",
                 "Data packets belonging to no session.",
                 "counter",
                 {{{{"reason", "unknown_session"}}, double(g.rx_unknown_session)},
                  {{{"reason", "malformed"}}, double(g.rx_malformed)},
                  {{{"reason", "cookie"}}, double(g.rx_cookie_discards)}}});
  out.push_back({"pwire_agent_server_connected",
                 "1 while the server stream is up.",
                 "gauge",
                 {{{}, connected_ ? 1.0 : 0.0}}});
  out.push_back({"pwire_agent_desired_version",
                 "Desired state version applied last.",
                 "gauge",
                 {{{}, double(applied_version_.load())}}});
  out.push_back({"pwire_agent_reconcile_actions_total",
                 "Reconciler actions applied.",
                 "counter",
                 {{{{"result", "ok"}}, double(actions_ok_)},
                  {{{"result", "failed"}}, double(actions_failed_)}}});
  out.push_back({"pwire_agent_reconcile_slices_yielded_total",
                 "Reconciles that stopped after their time slice to serve the event loop, "
                 "and went on in its next round.",
                 "counter",
                 {{{}, double(reconcile_slices_yielded_)}}});
  return out;
}

}  // namespace pwire::agent
