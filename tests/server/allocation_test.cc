#include "server/allocation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/validation.h"
#include "tests/server/test_util.h"

namespace pwire::server {
namespace {

using pwire::v1::Pseudowire;
using pwire::v1::PseudowireSpec;
using ::testing::HasSubstr;

Pseudowire StaticPw(const std::string& id, const std::string& a, const std::string& b) {
  Pseudowire pw = testing::EthernetPw(id, a, b);
  EXPECT_TRUE(NormalizePseudowireSpec(*pw.mutable_spec()).ok());
  pw.mutable_spec()->set_mode(PseudowireSpec::STATIC);
  return pw;
}

TEST(AllocationTest, InitiatorIsTheAgentThatSortsFirst) {
  StaticIndex index;
  Pseudowire pw = testing::EthernetPw("x", "zeta", "alpha");
  ASSERT_TRUE(NormalizePseudowireSpec(*pw.mutable_spec()).ok());
  auto a = Allocate(pw, 0, nullptr, index, "secret");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->initiator(), 1u);
  EXPECT_EQ(a->remote_end_id(), "x");
  EXPECT_EQ(a->endpoints_size(), 0);  // dynamic: nothing static
}

TEST(AllocationTest, ExternalVcIdBecomesFourOctetRemoteEndId) {
  StaticIndex index;
  Pseudowire pw = testing::EthernetPw("x");
  pw.mutable_spec()->mutable_endpoints(0)->mutable_external()->set_address("192.0.2.1");
  pw.mutable_spec()->mutable_endpoints(0)->mutable_external()->set_vc_id(0x01020304);
  ASSERT_TRUE(NormalizePseudowireSpec(*pw.mutable_spec()).ok());
  auto a = Allocate(pw, 0, nullptr, index, "secret");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->initiator(), 1u);
  EXPECT_EQ(a->remote_end_id(), std::string("\x01\x02\x03\x04", 4));
}

TEST(AllocationTest, StaticIdsAreDeterministicUniqueAndShareTheTunnel) {
  StaticIndex index;
  Pseudowire p1 = StaticPw("p1", "a", "b");
  auto a1 = Allocate(p1, 8, nullptr, index, "secret");
  ASSERT_TRUE(a1.ok());
  EXPECT_EQ(a1->endpoints(0).session_id(), 1u);
  EXPECT_EQ(a1->endpoints(0).cookie().size(), 8u);
  EXPECT_NE(a1->endpoints(0).cookie(), a1->endpoints(1).cookie());
  // Same input, same output.
  auto again = Allocate(p1, 8, nullptr, index, "secret");
  EXPECT_EQ(again->SerializeAsString(), a1->SerializeAsString());
  *p1.mutable_allocation() = *a1;
  index.Add(p1);

  Pseudowire p2 = StaticPw("p2", "a", "b");
  auto a2 = Allocate(p2, 8, nullptr, index, "secret");
  ASSERT_TRUE(a2.ok());
  EXPECT_EQ(a2->endpoints(0).session_id(), 2u);
  EXPECT_EQ(a2->endpoints(0).control_connection_id(), a1->endpoints(0).control_connection_id());
  // A previous allocation is kept.
  auto kept = Allocate(p1, 8, a1.operator->(), index, "secret");
  EXPECT_EQ(kept->endpoints(0).session_id(), 1u);
}

TEST(AllocationTest, GivenStaticSessionIdCollisionIsRefused) {
  StaticIndex index;
  Pseudowire p1 = StaticPw("p1", "a", "b");
  auto a1 = Allocate(p1, 0, nullptr, index, "s");
  *p1.mutable_allocation() = *a1;
  index.Add(p1);
  Pseudowire p2 = StaticPw("p2", "a", "c");
  p2.mutable_spec()->mutable_static_params()->add_endpoints()->set_session_id(1);
  p2.mutable_spec()->mutable_static_params()->add_endpoints();
  auto a2 = Allocate(p2, 0, nullptr, index, "s");
  ASSERT_FALSE(a2.ok());
  EXPECT_EQ(a2.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(a2.status().message(), HasSubstr("session ID 1 is already used on agents/a"));
  index.Remove(p1);
  EXPECT_TRUE(Allocate(p2, 0, nullptr, index, "s").ok());
}

}  // namespace
}  // namespace pwire::server
