#include "server/registry.h"

#include <future>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sqlite_store.h"
#include "tests/server/test_util.h"

namespace pwire::server {
namespace {

using pwire::v1::Pseudowire;
using pwire::v1::ResourceChange;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T, typename F>
absl::StatusOr<T> Sync(F&& call) {
  std::promise<absl::StatusOr<T>> p;
  call([&p](absl::StatusOr<T> v) { p.set_value(std::move(v)); });
  return p.get_future().get();
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(registry_.Load().ok()); }

  absl::StatusOr<Pseudowire> Create(const Pseudowire& pw, bool validate_only = false) {
    pwire::v1::CreatePseudowireRequest req;
    *req.mutable_pseudowire() = pw;
    req.set_validate_only(validate_only);
    return Sync<Pseudowire>([&](auto r) { registry_.CreatePseudowire(req, r); });
  }
  absl::StatusOr<pwire::v1::ApplyResponse> Apply(const pwire::v1::ApplyRequest& req) {
    return Sync<pwire::v1::ApplyResponse>([&](auto r) { registry_.Apply(req, r); });
  }

  MemoryStore store_;
  Registry registry_{&store_};
};

TEST_F(RegistryTest, CreateSetsGenerationEtagAndAllocation) {
  auto pw = Create(testing::EthernetPw("p1"));
  ASSERT_TRUE(pw.ok()) << pw.status();
  EXPECT_EQ(pw->name(), "pseudowires/p1");
  EXPECT_EQ(pw->generation(), 1);
  EXPECT_FALSE(pw->etag().empty());
  EXPECT_EQ(pw->spec().endpoints(0).agent().agent(), "agents/edge-a");
  EXPECT_EQ(pw->allocation().initiator(), 0u);
  EXPECT_EQ(pw->status().state(), pwire::v1::PseudowireStatus::PENDING);
  EXPECT_EQ(Create(testing::EthernetPw("p1")).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RegistryTest, ValidateOnlyChangesNothing) {
  ASSERT_TRUE(Create(testing::EthernetPw("p1"), true).ok());
  EXPECT_EQ(registry_.GetPseudowire("p1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, SameAttachmentCircuitTwiceIsRefused) {
  ASSERT_TRUE(Create(testing::EthernetPw("p1", "a", "b", "eth1")).ok());
  auto s = Create(testing::EthernetPw("p2", "a", "c", "eth1")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("spec.endpoints[0].agent.circuit.interface"));
  EXPECT_THAT(s.message(), HasSubstr("pseudowires/p1"));
  // Another VLAN on the same interface is fine, the whole port is not.
  Pseudowire v = testing::EthernetPw("v10", "a", "c", "eth2");
  v.mutable_spec()->set_type(pwire::v1::PseudowireSpec::ETHERNET_VLAN);
  for (auto& e : *v.mutable_spec()->mutable_endpoints()) {
    e.mutable_agent()->mutable_circuit()->set_vlan_id(10);
  }
  ASSERT_TRUE(Create(v).ok());
  v.set_name("pseudowires/v20");
  for (auto& e : *v.mutable_spec()->mutable_endpoints()) {
    e.mutable_agent()->mutable_circuit()->set_vlan_id(20);
  }
  ASSERT_TRUE(Create(v).ok());
  EXPECT_FALSE(Create(testing::EthernetPw("port", "a", "d", "eth2")).ok());
}

TEST_F(RegistryTest, UpdateWithMaskAndEtag) {
  auto pw = Create(testing::EthernetPw("p1"));
  ASSERT_TRUE(pw.ok());
  pwire::v1::UpdatePseudowireRequest req;
  req.mutable_pseudowire()->set_name("pseudowires/p1");
  req.mutable_pseudowire()->mutable_spec()->set_description("to the DC");
  req.mutable_pseudowire()->set_etag("stale");
  req.mutable_update_mask()->add_paths("spec.description");
  auto up = Sync<Pseudowire>([&](auto r) { registry_.UpdatePseudowire(req, r); });
  EXPECT_EQ(up.status().code(), absl::StatusCode::kAborted);
  req.mutable_pseudowire()->set_etag(pw->etag());
  up = Sync<Pseudowire>([&](auto r) { registry_.UpdatePseudowire(req, r); });
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->spec().description(), "to the DC");
  EXPECT_EQ(up->spec().endpoints_size(), 2);  // untouched by the mask
  EXPECT_EQ(up->generation(), 2);
  EXPECT_NE(up->etag(), pw->etag());
  req.mutable_update_mask()->set_paths(0, "status");
  req.mutable_pseudowire()->clear_etag();
  up = Sync<Pseudowire>([&](auto r) { registry_.UpdatePseudowire(req, r); });
  EXPECT_EQ(up.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, ApplyAnswersWithTheDiffAndIsAllOrNothing) {
  pwire::v1::ApplyRequest req;
  auto* c = req.add_classes();
  c->set_name("classes/gold");
  c->set_cookie_length(4);
  Pseudowire pw = testing::EthernetPw("p1");
  pw.mutable_spec()->set_pseudowire_class("gold");
  *req.add_pseudowires() = pw;
  req.set_validate_only(true);
  auto dry = Apply(req);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(dry->changes(0).action(), ResourceChange::CREATED);
  EXPECT_EQ(registry_.GetClass("gold").status().code(), absl::StatusCode::kNotFound);
  req.set_validate_only(false);
  ASSERT_TRUE(Apply(req).ok());
  auto again = Apply(req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changes(0).action(), ResourceChange::UNCHANGED);
  EXPECT_EQ(again->changes(1).action(), ResourceChange::UNCHANGED);
  req.mutable_pseudowires(0)->mutable_spec()->set_description("new");
  auto changed = Apply(req);
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ(changed->changes(1).action(), ResourceChange::UPDATED);
  EXPECT_THAT(changed->changes(1).changed_fields(), ElementsAre("spec.description"));
  // A bad second entry rolls back the first.
  *req.add_pseudowires() = testing::EthernetPw("p2", "x", "y");
  req.mutable_pseudowires(0)->mutable_spec()->set_description("newer");
  req.mutable_pseudowires(1)->mutable_spec()->clear_type();
  auto bad = Apply(req);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("pseudowires[1].spec.type"));
  EXPECT_EQ(registry_.GetPseudowire("p1")->spec().description(), "new");
}

TEST_F(RegistryTest, ClassInUseCannotBeDeletedAndSecretsAreRedacted) {
  pwire::v1::ApplyRequest req;
  auto* c = req.add_classes();
  c->set_name("classes/auth");
  c->set_control_auth(pwire::v1::PseudowireClass::HMAC_SHA1);
  c->set_control_secret("hunter2");
  Pseudowire pw = testing::EthernetPw("p1");
  pw.mutable_spec()->set_pseudowire_class("classes/auth");
  *req.add_pseudowires() = pw;
  ASSERT_TRUE(Apply(req).ok());
  EXPECT_EQ(registry_.GetClass("auth")->control_secret(), "******");
  pwire::v1::DeletePseudowireClassRequest del;
  del.set_name("classes/auth");
  auto s = Sync<bool>([&](auto r) { registry_.DeleteClass(del, r); });
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  // The agent gets the real secret, resolved into its desired state.
  auto ds = registry_.BuildDesiredState("edge-a");
  ASSERT_EQ(ds.pseudowires_size(), 1);
  EXPECT_EQ(ds.pseudowires(0).shared_secret(), "hunter2");
  EXPECT_EQ(ds.pseudowires(0).role(), pwire::v1::INITIATOR);
  EXPECT_EQ(registry_.BuildDesiredState("edge-b").pseudowires(0).role(), pwire::v1::RESPONDER);
  // Re-applying the redacted form keeps the secret.
  req.mutable_classes(0)->set_control_secret("******");
  auto again = Apply(req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changes(0).action(), ResourceChange::UNCHANGED);
}

TEST_F(RegistryTest, DesiredStateUsesThePeerAgentsUnderlayAddress) {
  pwire::v1::Hello hello;
  hello.set_agent_id("edge-b");
  hello.add_underlay_addresses("2001:db8::2");
  hello.add_underlay_addresses("198.51.100.2");
  ASSERT_TRUE(
      Sync<pwire::v1::Agent>([&](auto r) { registry_.AgentConnected(hello, "p", r); }).ok());
  hello.set_agent_id("edge-a");
  hello.clear_underlay_addresses();
  hello.add_underlay_addresses("198.51.100.1");
  ASSERT_TRUE(
      Sync<pwire::v1::Agent>([&](auto r) { registry_.AgentConnected(hello, "p", r); }).ok());
  ASSERT_TRUE(Create(testing::EthernetPw("p1")).ok());
  auto ds = registry_.BuildDesiredState("edge-a");
  ASSERT_EQ(ds.pseudowires_size(), 1);
  const auto& a = ds.pseudowires(0);
  EXPECT_EQ(a.local_address(), "198.51.100.1");
  EXPECT_EQ(a.peer().address(), "198.51.100.2");
  EXPECT_EQ(a.peer().agent(), "agents/edge-b");
  EXPECT_EQ(a.params().udp_port(), 1701u);
  EXPECT_EQ(a.circuit().pw_interface_name(), "pw-p1");
  EXPECT_EQ(a.mode(), pwire::v1::PseudowireSpec::DYNAMIC);
}

TEST_F(RegistryTest, StatusReportsShowAndGoStale) {
  ASSERT_TRUE(Create(testing::EthernetPw("p1")).ok());
  pwire::v1::StatusReport report;
  report.set_full(true);
  for (const char* agent : {"edge-a", "edge-b"}) {
    report.clear_pseudowires();
    auto* r = report.add_pseudowires();
    r->set_name("pseudowires/p1");
    r->mutable_status()->set_session_state(pwire::v1::SESSION_ESTABLISHED);
    r->mutable_status()->set_observed_generation(1);
    r->mutable_status()->mutable_local_circuit()->set_active(true);
    registry_.AgentStatus(agent, report);
  }
  EXPECT_EQ(registry_.GetPseudowire("p1")->status().state(), pwire::v1::PseudowireStatus::UP);
  pwire::v1::Hello hello;
  hello.set_agent_id("edge-a");
  ASSERT_TRUE(
      Sync<pwire::v1::Agent>([&](auto r) { registry_.AgentConnected(hello, "p", r); }).ok());
  registry_.AgentDisconnected("edge-a");
  auto pw = registry_.GetPseudowire("p1");
  EXPECT_EQ(pw->status().state(), pwire::v1::PseudowireStatus::STALE);
  EXPECT_TRUE(pw->status().endpoints(0).stale());
  EXPECT_FALSE(pw->status().endpoints(1).stale());
}

TEST(RegistryReloadTest, StateSurvivesRestartOnSqlite) {
  testing::TempDir dir;
  std::string etag;
  {
    auto store = SqliteStore::Open(dir.path() + "/pwire.db");
    ASSERT_TRUE(store.ok());
    Registry registry(store->get());
    ASSERT_TRUE(registry.Load().ok());
    pwire::v1::CreatePseudowireRequest req;
    *req.mutable_pseudowire() = testing::EthernetPw("p1");
    auto pw = Sync<Pseudowire>([&](auto r) { registry.CreatePseudowire(req, r); });
    ASSERT_TRUE(pw.ok());
    etag = pw->etag();
  }
  auto store = SqliteStore::Open(dir.path() + "/pwire.db");
  Registry registry(store->get());
  ASSERT_TRUE(registry.Load().ok());
  auto pw = registry.GetPseudowire("p1");
  ASSERT_TRUE(pw.ok());
  EXPECT_EQ(pw->etag(), etag);
  EXPECT_GT(registry.NextDesiredVersion(), uint64_t{2} << 32);  // epoch moved on
  // The index came back too: the circuit is still taken.
  pwire::v1::CreatePseudowireRequest req;
  *req.mutable_pseudowire() = testing::EthernetPw("p2", "edge-a", "edge-c");
  auto dup = Sync<Pseudowire>([&](auto r) { registry.CreatePseudowire(req, r); });
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace pwire::server
