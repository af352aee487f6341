// The reconciler's plan function, table-driven: each case gives desired and observed state and
// the exact plan expected (as strings, so a failure shows the whole plan).
#include "agent/core/reconciler.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pwire::agent {
namespace {

using dataplane::IpAddress;

DesiredPseudowire StaticPw(std::string name, uint32_t local_sid, uint32_t peer_sid) {
  DesiredPseudowire pw;
  pw.name = std::move(name);
  pw.is_static = true;
  pw.tunnel = {"10.0.0.1", "10.0.0.2", dataplane::Encap::kUdp, 1701, "", true};
  auto& t = pw.tunnel_config;
  t.mode = dataplane::TunnelMode::kStatic;
  t.local = *IpAddress::Parse("10.0.0.1");
  t.peer = *IpAddress::Parse("10.0.0.2");
  t.local_tunnel_id = t.peer_tunnel_id = pw.tunnel.StaticTunnelId();
  pw.session.tunnel_id = t.local_tunnel_id;
  pw.session.local_session_id = local_sid;
  pw.session.peer_session_id = peer_sid;
  pw.session.ifname = "pw-" + std::to_string(local_sid);
  return pw;
}

DesiredPseudowire DynamicPw(std::string name, PwRole role, std::string peer = "10.0.0.2") {
  DesiredPseudowire pw;
  pw.name = std::move(name);
  pw.role = role;
  pw.tunnel = {"10.0.0.1", peer, dataplane::Encap::kUdp, 1701, "classes/gold", false};
  auto& t = pw.tunnel_config;
  t.mode = dataplane::TunnelMode::kManaged;
  t.local = *IpAddress::Parse("10.0.0.1");
  t.peer = *IpAddress::Parse(peer);
  pw.remote_end_id = {'x'};
  pw.session.ifname = "pw-" + pw.name.substr(pw.name.size() - 1);
  return pw;
}

DesiredSnapshot Desire(std::vector<DesiredPseudowire> pws) {
  DesiredSnapshot d;
  for (auto& pw : pws) d.pseudowires[pw.name] = pw;
  return d;
}

ObservedTunnel Tunnel(uint32_t id, const TunnelKey& key, LinkState st, bool peer = false) {
  ObservedTunnel t{id, id + 1000, key, st, peer, {}};
  t.config.mode = dataplane::TunnelMode::kManaged;
  t.config.local_tunnel_id = id;
  t.config.peer_tunnel_id = id + 1000;
  t.config.local = *IpAddress::Parse(key.local);
  t.config.peer = *IpAddress::Parse(key.peer);
  return t;
}

ObservedSession Session(const DesiredPseudowire& pw, uint32_t tunnel, uint32_t sid, LinkState st) {
  ObservedSession s;
  s.tunnel_id = tunnel;
  s.local_session_id = sid;
  s.peer_session_id = sid + 5000;
  s.state = st;
  s.opened_with = pw;
  return s;
}

std::vector<std::string> PlanStrings(const DesiredSnapshot& d, const ObservedState& o) {
  std::vector<std::string> out;
  for (const auto& a : Plan(d, o)) {
    std::string s = ActionToString(a);
    if (s.starts_with("program-tunnel")) s = "program-tunnel";  // verb alone
    out.push_back(s.substr(0, s.find(' ', s.find(' ') + 1)));   // verb + first argument
  }
  return out;
}

struct Case {
  std::string name;
  DesiredSnapshot desired;
  ObservedState observed;
  std::vector<std::string> want;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class PlanTest : public ::testing::TestWithParam<Case> {};

TEST_P(PlanTest, ProducesExactPlan) {
  const Case& c = GetParam();
  EXPECT_THAT(PlanStrings(c.desired, c.observed), ::testing::ElementsAreArray(c.want));
}

std::vector<Case> Cases() {
  auto s1 = StaticPw("pseudowires/s1", 100, 200);
  auto s2 = StaticPw("pseudowires/s2", 101, 201);
  auto d1 = DynamicPw("pseudowires/d1", PwRole::kInitiator);
  auto d2 = DynamicPw("pseudowires/d2", PwRole::kInitiator);
  auto r1 = DynamicPw("pseudowires/r1", PwRole::kResponder);
  uint32_t st = s1.tunnel_config.local_tunnel_id;

  std::vector<Case> cases;
  cases.push_back({"EmptyIsEmpty", Desire({}), {}, {}});
  cases.push_back(
      {"StaticFromScratchProgramsTunnelThenSessions",
       Desire({s1, s2}),
       {},
       {"program-tunnel", "program-session pseudowires/s1", "program-session pseudowires/s2"}});
  {
    ObservedState o;
    o.dataplane.tunnels = {s1.tunnel_config};
    o.dataplane.sessions = {s1.session};
    cases.push_back({"StaticConvergedIsEmpty", Desire({s1}), o, {}});
    cases.push_back(
        {"StaticDeletedRemovesSessionThenTunnel",
         Desire({}),
         o,
         {"remove-session " + std::to_string(st) + "/100", "remove-tunnel " + std::to_string(st)}});
    auto changed = s1;
    changed.session.peer_cookie = {1, 2, 3, 4};
    cases.push_back(
        {"StaticChangedCookieRecreatesSession",
         Desire({changed}),
         o,
         {"remove-session " + std::to_string(st) + "/100", "program-session pseudowires/s1"}});
    cases.push_back(
        {"StaticSecondAddedKeepsFirst", Desire({s1, s2}), o, {"program-session pseudowires/s2"}});
  }
  cases.push_back({"InitiatorOpensOneTunnelForTwoSessions",
                   Desire({d1, d2}),
                   {},
                   {"open-tunnel 10.0.0.1->10.0.0.2/udp:1701"}});
  {
    ObservedState o;
    o.tunnels[7] = Tunnel(7, d1.tunnel, LinkState::kConnecting);
    cases.push_back({"InitiatorOpensSessionsOnConnectingTunnel",
                     Desire({d1, d2}),
                     o,
                     {"open-session pseudowires/d1", "open-session pseudowires/d2"}});
  }
  cases.push_back({"ResponderWaits", Desire({r1}), {}, {}});
  {
    ObservedState o;
    o.tunnels[7] = Tunnel(7, d1.tunnel, LinkState::kEstablished);
    o.sessions[d1.name] = Session(d1, 7, 55, LinkState::kEstablished);
    cases.push_back({"EstablishedSessionProgramsDataplane",
                     Desire({d1}),
                     o,
                     {"program-tunnel", "program-session pseudowires/d1"}});
    o.dataplane.tunnels = {o.tunnels[7].config};
    o.dataplane.sessions = {SessionConfigFor(d1, o.sessions[d1.name])};
    cases.push_back({"DynamicConvergedIsEmpty", Desire({d1}), o, {}});
    cases.push_back({"DeletedDynamicSendsCdnAndStopCcnAndRemovesDataplane",
                     Desire({}),
                     o,
                     {"remove-session 7/55", "remove-tunnel 7", "close-session pseudowires/d1",
                      "close-tunnel 7"}});
    auto d1_other_type = d1;
    d1_other_type.session.rx_sublayer = dataplane::Sublayer::kNone;
    cases.push_back({"RenegotiationNeededClosesSessionKeepsTunnel",
                     Desire({d1_other_type}),
                     o,
                     {"remove-session 7/55", "close-session pseudowires/d1"}});
    auto d1_described = d1;
    d1_described.generation = 9;  // Description change: nothing negotiated differs.
    cases.push_back({"CosmeticChangeKeepsSession", Desire({d1_described}), o, {}});
    auto o2 = o;
    o2.sessions[d2.name] = Session(d2, 7, 56, LinkState::kConnecting);
    cases.push_back({"TunnelWithRemainingSessionNotClosed",
                     Desire({d2}),
                     o2,
                     {"remove-session 7/55", "close-session pseudowires/d1"}});
  }
  {
    ObservedState o;
    o.tunnels[9] = Tunnel(9, {"10.0.0.1", "10.0.0.2", dataplane::Encap::kUdp, 1701, "", false},
                          LinkState::kEstablished, /*peer=*/true);
    cases.push_back(
        {"PeerTunnelKeptForDesiredResponderSession", Desire({r1}), o, {"program-tunnel"}});
    cases.push_back({"PeerTunnelClosedWhenNothingDesired", Desire({}), o, {"close-tunnel 9"}});
  }
  {
    ObservedState o;
    o.tunnels[7] = Tunnel(7, d1.tunnel, LinkState::kClosing);
    o.sessions[d1.name] = Session(d1, 7, 55, LinkState::kClosing);
    cases.push_back({"ClosingObjectsNotClosedTwice", Desire({}), o, {}});
    cases.push_back({"ClosingTunnelNotReusedForNewSession",
                     Desire({d2}),
                     o,
                     {"open-tunnel 10.0.0.1->10.0.0.2/udp:1701"}});
  }
  {
    // RFC 3931 §7.3.2: the ICRQ sender may send data as soon as it has our ICRP. A responder
    // session whose parameters are negotiated is programmed while still connecting.
    ObservedState o;
    o.tunnels[9] = Tunnel(9, {"10.0.0.1", "10.0.0.2", dataplane::Encap::kUdp, 1701, "", false},
                          LinkState::kEstablished, /*peer=*/true);
    o.sessions[r1.name] = Session(r1, 9, 77, LinkState::kConnecting);
    cases.push_back(
        {"ConnectingSessionNotProgrammedBeforeNegotiation", Desire({r1}), o, {"program-tunnel"}});
    o.sessions[r1.name].negotiated = true;
    cases.push_back({"NegotiatedSessionProgrammedBeforeTheIccn",
                     Desire({r1}),
                     o,
                     {"program-tunnel", "program-session pseudowires/r1"}});
  }
  {
    ObservedState o;
    dataplane::TunnelConfig stray;
    stray.local_tunnel_id = 4242;
    o.dataplane.tunnels = {stray};
    cases.push_back({"StrayDataplaneTunnelRemoved", Desire({}), o, {"remove-tunnel 4242"}});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Table, PlanTest, ::testing::ValuesIn(Cases()),
                         [](const auto& p) { return p.param.name; });

// RFC 3931 §5.4.4: a receiver of a non-zero L2-Specific Sublayer AVP MUST include that
// sublayer in its outgoing data, and sequence when asked (Data Sequencing AVP); what it
// receives is what it asked for. Our side asks for no sublayer here, the peer asked for the
// default one with sequencing: the data plane config differs per direction.
TEST(SessionConfigForTest, EachDirectionGetsWhatItsReceiverAskedFor) {
  auto pw = DynamicPw("pseudowires/d1", PwRole::kInitiator);
  pw.session.rx_sublayer = pw.session.tx_sublayer = dataplane::Sublayer::kNone;
  ObservedSession s = Session(pw, 7, 55, LinkState::kEstablished);
  s.tx_sublayer = dataplane::Sublayer::kDefault;
  s.send_seq = true;
  s.rx_sublayer = dataplane::Sublayer::kNone;
  s.recv_seq = false;
  dataplane::SessionConfig c = SessionConfigFor(pw, s);
  EXPECT_EQ(c.tx_sublayer, dataplane::Sublayer::kDefault);
  EXPECT_TRUE(c.send_seq);
  EXPECT_EQ(c.rx_sublayer, dataplane::Sublayer::kNone);
  EXPECT_FALSE(c.recv_seq);
  // The plan programs exactly that config, and keeps it once the data plane holds it.
  ObservedState o;
  o.tunnels[7] = Tunnel(7, pw.tunnel, LinkState::kEstablished);
  o.sessions[pw.name] = s;
  auto plan = Plan(Desire({pw}), o);
  ASSERT_EQ(plan.size(), 2u);
  auto* p = std::get_if<action::ProgramSession>(&plan[1]);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->config.SameAs(c)) << p->config.DebugString();
  o.dataplane.tunnels = {o.tunnels[7].config};
  o.dataplane.sessions = {c};
  EXPECT_TRUE(Plan(Desire({pw}), o).empty());
  // A data plane session still sending without the sublayer is replaced.
  o.dataplane.sessions[0].tx_sublayer = dataplane::Sublayer::kNone;
  EXPECT_THAT(PlanStrings(Desire({pw}), o),
              ::testing::ElementsAre("remove-session 7/55", "program-session pseudowires/d1"));
}

// What the agent programs at once when a session is negotiated (before its ICRP or ICCN is
// sent): the tunnel unless the data plane has it, then the session; nothing before that.
TEST(PlanEarlySessionTest, ProgramsTunnelAndSessionOnlyOnceNegotiated) {
  auto r1 = DynamicPw("pseudowires/r1", PwRole::kResponder);
  ObservedTunnel t = Tunnel(9, r1.tunnel, LinkState::kEstablished, /*peer=*/true);
  ObservedSession s = Session(r1, 9, 77, LinkState::kConnecting);
  EXPECT_TRUE(PlanEarlySession(r1, s, t, false).empty());
  s.negotiated = true;
  auto plan = PlanEarlySession(r1, s, t, false);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<action::ProgramTunnel>(plan[0]));
  EXPECT_TRUE(std::holds_alternative<action::ProgramSession>(plan[1]));
  EXPECT_EQ(PlanEarlySession(r1, s, t, true).size(), 1u);
  auto other = r1;
  other.cookie_length = 8;  // desired changed since: the session is closed, not programmed
  EXPECT_TRUE(PlanEarlySession(other, s, t, true).empty());
}

}  // namespace
}  // namespace pwire::agent
