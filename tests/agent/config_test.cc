// Agent configuration: YAML then flags, flags win, and bad input is refused naming the field.
#include "agent/core/config.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace pwire::agent {
namespace {

absl::StatusOr<AgentConfig> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "pwire-agent");
  return ParseAgentConfig(static_cast<int>(args.size()), args.data());
}

TEST(ConfigTest, FlagsOnly) {
  auto cfg = Parse({"--agent-id", "site-a", "--underlay", "10.0.0.1,fd00::1", "--dataplane",
                    "userspace", "--server", "10.0.0.9:7000"});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->agent_id, "site-a");
  EXPECT_EQ(cfg->underlay, (std::vector<std::string>{"10.0.0.1", "fd00::1"}));
  EXPECT_EQ(cfg->dataplane, DataplaneMode::kUserspace);
  EXPECT_EQ(cfg->server, "10.0.0.9:7000");
}

TEST(ConfigTest, MissingAgentIdNamesTheField) {
  auto cfg = Parse({"--underlay", "10.0.0.1"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("agent_id"), std::string_view::npos);
}

TEST(ConfigTest, BadDataplaneRefused) {
  auto cfg = Parse({"--agent-id", "a", "--underlay", "10.0.0.1", "--dataplane", "dpdk"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.status().message().find("dpdk"), std::string_view::npos);
}

TEST(ConfigTest, YamlFileThenFlagsOverride) {
  char path[] = "/tmp/pwire-agent-config-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "agent_id: from-file\nunderlay: [192.0.2.1]\ndataplane: kernel\n"
                         "tls: {ca: /ca.pem, cert: /c.pem, key: /k.pem}\n"
                         "metrics_listen: 127.0.0.1:0\n";
  auto cfg = Parse({"--config", path, "--agent-id", "from-flag"});
  std::remove(path);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->agent_id, "from-flag");
  EXPECT_EQ(cfg->underlay, (std::vector<std::string>{"192.0.2.1"}));
  EXPECT_EQ(cfg->dataplane, DataplaneMode::kKernel);
  EXPECT_EQ(cfg->tls_ca, "/ca.pem");
  EXPECT_EQ(cfg->metrics_listen, "127.0.0.1:0");
}

TEST(ConfigTest, UnknownYamlFieldRefused) {
  AgentConfig cfg;
  auto s = LoadAgentConfigYaml("agent_id: a\nundrelay: [1.2.3.4]\n", cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("undrelay"), std::string_view::npos);
}

TEST(ConfigTest, WrongYamlTypeNamesField) {
  AgentConfig cfg;
  auto s = LoadAgentConfigYaml("l2tp_port: [1]\n", cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("l2tp_port"), std::string_view::npos);
}

TEST(ConfigTest, LocalPseudowiresParsedAndValidated) {
  AgentConfig cfg;
  cfg.agent_id = "a";
  cfg.underlay = {"10.0.0.1"};
  ASSERT_TRUE(LoadAgentConfigYaml(R"(
local_pseudowires:
  - name: to-router
    peer_address: 10.0.0.2
    local_session_id: 100
    remote_session_id: 200
    local_cookie: "a1b2c3d4"
    remote_cookie: "0102030405060708"
    interface: br0
)",
                                  cfg)
                  .ok());
  ASSERT_EQ(cfg.local_pseudowires.size(), 1u);
  EXPECT_EQ(cfg.local_pseudowires[0].remote_session_id, 200u);
  EXPECT_TRUE(ValidateAgentConfig(cfg).ok());
  cfg.local_pseudowires[0].local_cookie_hex = "abc";
  auto s = ValidateAgentConfig(cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("local_pseudowires[0]"), std::string_view::npos);
}

TEST(ConfigTest, ExternalPeersParsedAndValidated) {
  AgentConfig cfg;
  cfg.agent_id = "a";
  cfg.underlay = {"10.0.0.1"};
  ASSERT_TRUE(LoadAgentConfigYaml(R"(
external_peers:
  - name: to-cisco
    peer_address: 10.0.0.9
    hostname: pe9
    remote_end_id: "100"
    role: responder
    secret: s3cret
    digest: sha1
    cookie_length: 8
    l2_sublayer: none
    hello_interval_s: 30
    interface: eth1
    session_ifname: pw-cisco
)",
                                  cfg)
                  .ok());
  ASSERT_EQ(cfg.external_peers.size(), 1u);
  const ExternalPeer& e = cfg.external_peers[0];
  EXPECT_EQ(e.hostname, "pe9");
  EXPECT_EQ(e.remote_end_id, "100");
  EXPECT_FALSE(e.initiator);
  EXPECT_EQ(e.digest, "sha1");
  EXPECT_FALSE(e.default_sublayer);
  EXPECT_EQ(e.hello_interval_s, 30);
  EXPECT_TRUE(ValidateAgentConfig(cfg).ok());
  cfg.external_peers[0].remote_end_id.clear();
  auto s = ValidateAgentConfig(cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("external_peers[0].remote_end_id"), std::string_view::npos);

  AgentConfig bad;
  auto r = LoadAgentConfigYaml("external_peers:\n  - {name: x, role: both}\n", bad);
  EXPECT_NE(r.message().find("external_peers[0].role"), std::string_view::npos) << r;
  r = LoadAgentConfigYaml("external_peers:\n  - {name: x, secert: typo}\n", bad);
  EXPECT_NE(r.message().find("unknown field 'secert'"), std::string_view::npos) << r;
}

TEST(ConfigTest, ExternalPeerRouterIdDottedOrNumber) {
  AgentConfig cfg;
  ASSERT_TRUE(LoadAgentConfigYaml(R"(
external_peers:
  - {name: a, peer_address: 10.0.0.9, remote_end_id: "1", router_id: 192.0.2.7}
  - {name: b, peer_address: 10.0.0.8, remote_end_id: "2", router_id: 3221225991}
  - {name: c, peer_address: 10.0.0.7, remote_end_id: "3"}
)",
                                  cfg)
                  .ok());
  ASSERT_EQ(cfg.external_peers.size(), 3u);
  EXPECT_EQ(cfg.external_peers[0].router_id, 0xC0000207u);
  EXPECT_EQ(cfg.external_peers[1].router_id, 0xC0000207u);
  EXPECT_EQ(cfg.external_peers[2].router_id, 0u);  // not checked
  for (const char* bad : {"1.2.3", "1.2.3.4.5", "router", "0", "0.0.0.0", "-1", "4294967296"}) {
    AgentConfig c;
    auto s = LoadAgentConfigYaml(
        absl::StrCat("external_peers:\n  - {name: x, router_id: \"", bad, "\"}\n"), c);
    EXPECT_NE(s.message().find("external_peers[0].router_id"), std::string_view::npos)
        << bad << ": " << s;
  }
}

// RFC 3931 §5.4.4 Data Sequencing AVP: an external peer entry can ask the router to
// sequence its data; §4.6: the numbers ride in the default sublayer, so `none` is refused.
TEST(ConfigTest, ExternalPeerAsksForDataSequencingOnlyWithTheDefaultSublayer) {
  AgentConfig cfg;
  ASSERT_TRUE(LoadAgentConfigYaml(R"(
external_peers:
  - {name: a, peer_address: 10.0.0.9, remote_end_id: "1", data_sequencing: true}
  - {name: b, peer_address: 10.0.0.8, remote_end_id: "2"}
)",
                                  cfg)
                  .ok());
  ASSERT_EQ(cfg.external_peers.size(), 2u);
  EXPECT_TRUE(cfg.external_peers[0].data_sequencing);
  EXPECT_FALSE(cfg.external_peers[1].data_sequencing);
  AgentConfig bad;
  auto s = LoadAgentConfigYaml(
      "external_peers:\n  - {name: x, l2_sublayer: none, data_sequencing: true}\n", bad);
  EXPECT_NE(s.message().find("external_peers[0].data_sequencing"), std::string_view::npos) << s;
}

// Entries with one peer address share one control connection: what it uses (secret, digest,
// HELLO interval, identity checks) must be the same in each, or the file is refused naming
// both entries and the field. Sessions' own settings may differ.
TEST(ConfigTest, ExternalPeersSharingAnAddressMustAgreeOnTheirConnection) {
  auto two = [](const std::string& second_extra) {
    AgentConfig cfg;
    cfg.agent_id = "a";
    cfg.underlay = {"10.0.0.1"};
    auto s = LoadAgentConfigYaml(
        absl::StrCat("external_peers:\n"
                     "  - {name: one, peer_address: 10.0.0.9, remote_end_id: \"1\", secret: s,"
                     " hostname: pe9, router_id: 10.0.0.9}\n"
                     "  - {name: two, remote_end_id: \"2\", ",
                     second_extra, "}\n"),
        cfg);
    EXPECT_TRUE(s.ok()) << s;
    return ValidateAgentConfig(cfg);
  };
  const std::string same = "peer_address: 10.0.0.9, secret: s, hostname: pe9, router_id: 10.0.0.9";
  EXPECT_TRUE(two(same).ok());
  EXPECT_TRUE(two(same + ", cookie_length: 8, l2_sublayer: none, role: responder").ok());
  EXPECT_TRUE(two("peer_address: 10.0.0.8").ok());  // another peer: another connection
  for (const auto& [extra, field] : std::vector<std::pair<std::string, std::string>>{
           {"peer_address: 10.0.0.9, secret: t, hostname: pe9, router_id: 10.0.0.9", "secret"},
           {same + ", digest: sha1", "digest"},
           {same + ", hello_interval_s: 10", "hello_interval_s"},
           {"peer_address: 10.0.0.9, secret: s, hostname: pe8, router_id: 10.0.0.9", "hostname"},
           {"peer_address: 10.0.0.9, secret: s, hostname: pe9", "router_id"}}) {
    auto s = two(extra);
    ASSERT_FALSE(s.ok()) << extra;
    EXPECT_EQ(s.message(),
              "external_peers[1] 'two' and external_peers[0] 'one' have one peer_address "
              "(10.0.0.9: one control connection) but a different " +
                  field);
  }
}

// RFC 3931 §5.4.3: our Router ID, unique per LCCE and never 0: configured (file or flag,
// dotted or a number), else the first IPv4 underlay address, else a hash of the agent id.
TEST(ConfigTest, RouterIdConfiguredOrDerivedNeverZero) {
  AgentConfig cfg;
  ASSERT_TRUE(LoadAgentConfigYaml("router_id: 10.1.2.3\n", cfg).ok());
  EXPECT_EQ(cfg.router_id, 0x0a010203u);
  EXPECT_EQ(LocalRouterId(cfg), 0x0a010203u);
  auto flag = Parse({"--agent-id", "a", "--underlay", "fd00::1", "--router-id", "7"});
  ASSERT_TRUE(flag.ok()) << flag.status();
  EXPECT_EQ(flag->router_id, 7u);
  auto zero = Parse({"--agent-id", "a", "--underlay", "fd00::1", "--router-id", "0"});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("router_id"), std::string::npos);

  AgentConfig v4;
  v4.agent_id = "a";
  v4.underlay = {"fd00::1", "192.0.2.7"};
  EXPECT_EQ(LocalRouterId(v4), 0xc0000207u);
  AgentConfig v6a;
  v6a.agent_id = "site-a";
  v6a.underlay = {"fd00::1"};
  AgentConfig v6b = v6a;
  v6b.agent_id = "site-b";
  EXPECT_NE(LocalRouterId(v6a), 0u);
  EXPECT_NE(LocalRouterId(v6b), 0u);
  EXPECT_NE(LocalRouterId(v6a), LocalRouterId(v6b));
  EXPECT_EQ(LocalRouterId(v6a), LocalRouterId(AgentConfig(v6a)));  // stable: no randomness
}

TEST(ConfigTest, StopSettingsParsedAndBounded) {
  AgentConfig cfg;
  cfg.agent_id = "a";
  cfg.underlay = {"10.0.0.1"};
  EXPECT_TRUE(cfg.stop_teardown);
  ASSERT_TRUE(LoadAgentConfigYaml("stop_teardown: false\nstop_timeout_ms: 500\n", cfg).ok());
  EXPECT_FALSE(cfg.stop_teardown);
  EXPECT_EQ(cfg.stop_timeout_ms, 500);
  cfg.stop_timeout_ms = -1;
  auto s = ValidateAgentConfig(cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("stop_timeout_ms"), std::string::npos);
}

TEST(ConfigTest, NotYamlRefused) {
  AgentConfig cfg;
  EXPECT_FALSE(LoadAgentConfigYaml("agent_id: [unclosed\n", cfg).ok());
}

}  // namespace
}  // namespace pwire::agent
