// What pwctl prints for people: pseudowire, class and agent tables, details with counters,
// apply and diff results, the status screen; and the exit-code mapping of server errors.
#include "render.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "client.h"

namespace pwire::cli {
namespace {

constexpr int64_t kNow = 1'700'000'000;

template <typename T>
T Parse(const std::string& text) {
  T msg;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &msg)) << text;
  return msg;
}

v1::Pseudowire EthernetPw() {
  return Parse<v1::Pseudowire>(R"pb(
    name: "pseudowires/demo-eth"
    generation: 3
    create_time { seconds: 1699999700 }
    spec {
      type: ETHERNET
      pseudowire_class: "classes/gold"
      endpoints {
        agent {
          agent: "agents/site-a"
          circuit { interface: "eth1" }
        }
      }
      endpoints {
        agent {
          agent: "agents/site-b"
          circuit { interface: "eth2" vlan_id: 0 }
        }
      }
    }
    status {
      state: UP
      endpoints {
        agent: "agents/site-a"
        session_state: SESSION_ESTABLISHED
        local_session_id: 4711
        remote_session_id: 9021
        counters { rx_packets: 10 tx_packets: 20 rx_bytes: 2048 rx_cookie_discards: 2 }
        local_circuit { active: true }
        last_error: "none really"
      }
      endpoints {
        agent: "agents/site-b"
        session_state: SESSION_ESTABLISHED
        local_session_id: 9021
        stale: true
      }
    }
  )pb");
}

v1::Pseudowire VlanToCisco() {
  return Parse<v1::Pseudowire>(R"pb(
    name: "pseudowires/to-cisco"
    spec {
      type: ETHERNET_VLAN
      mode: STATIC
      endpoints {
        agent {
          agent: "agents/site-a"
          circuit { interface: "eth1" vlan_id: 100 }
        }
      }
      endpoints { external { address: "192.0.2.10" vc_id: 100 } }
    }
    allocation {
      endpoints { session_id: 17 }
      endpoints { session_id: 18 }
    }
  )pb");
}

TEST(RenderTest, PseudowireTableReadsAtAGlance) {
  EXPECT_EQ(PseudowireTable({EthernetPw(), VlanToCisco()}, kNow, false),
            "NAME       TYPE            A-END             B-END                    STATE(A/B)  "
            "    SESSION-IDS   AGE\n"
            "demo-eth   ethernet        site-a/eth1       site-b/eth2              up(est/stale)"
            "   4711/9021     5m\n"
            "to-cisco   ethernet-vlan   site-a/eth1.100   peer 192.0.2.10 vc 100   -(-/-)      "
            "    17/18         -\n");
}

TEST(RenderTest, WideTableAddsClassModeAndCounters) {
  std::string table = PseudowireTable({EthernetPw()}, kNow, true);
  EXPECT_NE(table.find("CLASS   MODE      GEN   RX-PKTS   TX-PKTS   ERRORS"), std::string::npos)
      << table;
  EXPECT_NE(table.find("gold    dynamic   3     10        20        2"), std::string::npos)
      << table;
}

TEST(RenderTest, DetailShowsBothEndsWithCountersAndStaleness) {
  std::string detail = PseudowireDetail(EthernetPw(), kNow);
  EXPECT_NE(detail.find("Name:         demo-eth\n"), std::string::npos) << detail;
  EXPECT_NE(detail.find("State:        up(est/stale)"), std::string::npos) << detail;
  EXPECT_NE(detail.find("  A:  site-a/eth1   (initiator)"), std::string::npos) << detail;
  EXPECT_NE(detail.find("rx:         10 pkts 2.0KiB"), std::string::npos) << detail;
  EXPECT_NE(detail.find("cookie-discards 2"), std::string::npos) << detail;
  EXPECT_NE(detail.find("stale: the agent is silent"), std::string::npos) << detail;
  EXPECT_NE(detail.find("last error: none really"), std::string::npos) << detail;
}

TEST(RenderTest, EndpointCellsForEveryCircuitKind) {
  EXPECT_EQ(EndpointCell(Parse<v1::Endpoint>(R"pb(agent {
                                                    agent: "agents/a"
                                                    circuit { bridge: "br0" }
                                                  })pb")),
            "a/br:br0");
  EXPECT_EQ(EndpointCell(Parse<v1::Endpoint>(R"pb(agent {
                                                    agent: "agents/a"
                                                    circuit { interface: "s0" dlci: 16 }
                                                  })pb")),
            "a/s0 dlci 16");
  EXPECT_EQ(EndpointCell(Parse<v1::Endpoint>(R"pb(agent {
                                                    agent: "agents/a"
                                                    circuit { interface: "atm0" vpi: 1 vci: 32 }
                                                  })pb")),
            "a/atm0 1/32");
  EXPECT_EQ(EndpointCell(v1::Endpoint()), "-");
}

TEST(RenderTest, ClassTableShowsDefaultsResolved) {
  std::string table = ClassTable(
      {Parse<v1::PseudowireClass>(R"pb(name: "classes/gold" cookie_length: 4)pb")}, kNow, false);
  EXPECT_EQ(table,
            "NAME   ENCAP   PORT   COOKIE   SUBLAYER           SEQ   AUTH      HELLO   AGE\n"
            "gold   udp     1701   4        default-sublayer   off   no-auth   60s     -\n");
}

TEST(RenderTest, AgentTableMarksStaleAgents) {
  std::string table = AgentTable({Parse<v1::Agent>(R"pb(
                                   name: "agents/site-a"
                                   connection_state: CONNECTED
                                   stale: true
                                   underlay_addresses: "10.0.0.1"
                                   pseudowire_count: 2
                                   capabilities { data_planes: DATA_PLANE_KERNEL }
                                 )pb")},
                                 kNow, false);
  EXPECT_NE(table.find("site-a   connected,stale   -          10.0.0.1    2     kernel"),
            std::string::npos)
      << table;
}

TEST(RenderTest, ApplyAndDiffResults) {
  auto response = Parse<v1::ApplyResponse>(R"pb(
    validate_only: true
    changes { name: "classes/gold" action: UNCHANGED generation: 1 }
    changes { name: "pseudowires/a" action: CREATED generation: 1 }
    changes {
      name: "pseudowires/b"
      action: UPDATED
      generation: 2
      changed_fields: "spec.description"
    }
  )pb");
  EXPECT_TRUE(HasChanges(response));
  EXPECT_EQ(DiffResult(response), "+ pseudowires/a   (new)\n~ pseudowires/b   spec.description\n");
  std::string applied = ApplyResult(response);
  EXPECT_NE(applied.find("pseudowires/b   update      2     spec.description"), std::string::npos)
      << applied;
  EXPECT_NE(applied.find("dry run, nothing changed: would create 1, would update 1, unchanged 1"),
            std::string::npos)
      << applied;
  v1::ApplyResponse unchanged;
  unchanged.add_changes()->set_action(v1::ResourceChange::UNCHANGED);
  EXPECT_FALSE(HasChanges(unchanged));
  EXPECT_EQ(DiffResult(unchanged), "no changes: the server already has what the file says\n");
}

TEST(RenderTest, StatusScreenListsProblems) {
  auto server = Parse<v1::ServerStatus>(R"pb(
    version: "0.1.0"
    pseudowire_count: 3
    class_count: 1
    agent_count: 1
    pseudowires_by_state { key: "UP" value: 2 }
    pseudowires_by_state { key: "DOWN" value: 1 }
  )pb");
  auto agent = Parse<v1::Agent>(R"pb(name: "agents/x" connection_state: DISCONNECTED)pb");
  std::string screen = StatusScreen("unix:/s", server, {agent}, {VlanToCisco()}, kNow);
  EXPECT_NE(screen.find("Pseudowires:  3 total   down 1   up 2\n"), std::string::npos) << screen;
  EXPECT_NE(screen.find("Agents:       1 known   0 connected   1 not connected   0 stale"),
            std::string::npos)
      << screen;
  EXPECT_NE(screen.find("Agents not connected or stale:"), std::string::npos) << screen;
  EXPECT_NE(screen.find("to-cisco"), std::string::npos) << screen;
  EXPECT_EQ(StatusScreen("unix:/s", server, {}, {}, kNow).find("No problems."),
            StatusScreen("unix:/s", server, {}, {}, kNow).size() - 13);
}

TEST(ClientTest, ExitCodesAndHints) {
  EXPECT_EQ(ExitCodeFor(grpc::Status::OK), kExitOk);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "x")), kExitRefused);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x")), kExitUnreachable);
  EXPECT_EQ(ExitCodeFor(grpc::Status(grpc::StatusCode::INTERNAL, "x")), kExitInternal);
  std::string text = DescribeError(
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "spec.endpoints[0].circuit.vlan_id: bad"),
      "create pseudowire p", "unix:/s");
  EXPECT_EQ(text,
            "pwctl: create pseudowire p failed: INVALID_ARGUMENT: "
            "spec.endpoints[0].circuit.vlan_id: bad\n"
            "  hint: fix the field named above and try again (--dry-run checks without "
            "changing anything).\n");
}

TEST(ClientTest, ResolveTarget) {
  ServerOptions o;
  o.server = "/run/x.sock";
  EXPECT_EQ(ResolveTarget(o), "unix:/run/x.sock");
  o.server = "pwire.example:7443";
  EXPECT_EQ(ResolveTarget(o), "pwire.example:7443");
}

}  // namespace
}  // namespace pwire::cli
