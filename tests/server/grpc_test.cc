// PwireService over real gRPC (in-process channel): every method, with its error paths.
#include <future>

#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "tests/server/grpc_fixture.h"

namespace pwire::server {
namespace {

using grpc::ClientContext;
using grpc::StatusCode;
using pwire::v1::Pseudowire;
using ::testing::HasSubstr;

class PwireServiceTest : public testing::GrpcTest {};

TEST_F(PwireServiceTest, CreateGetListDeletePseudowire) {
  Pseudowire created;
  ASSERT_TRUE(CreatePw(testing::EthernetPw("p1"), &created).ok());
  EXPECT_EQ(created.generation(), 1);
  EXPECT_EQ(CreatePw(testing::EthernetPw("p1")).error_code(), StatusCode::ALREADY_EXISTS);

  ClientContext get_ctx;
  pwire::v1::GetPseudowireRequest get;
  get.set_name("pseudowires/p1");
  Pseudowire got;
  ASSERT_TRUE(stub_->GetPseudowire(&get_ctx, get, &got).ok());
  EXPECT_EQ(got.etag(), created.etag());

  ClientContext del_ctx;
  pwire::v1::DeletePseudowireRequest del;
  del.set_name("p1");
  del.set_etag("wrong");
  google::protobuf::Empty empty;
  EXPECT_EQ(stub_->DeletePseudowire(&del_ctx, del, &empty).error_code(), StatusCode::ABORTED);
  ClientContext del2;
  del.set_etag(created.etag());
  ASSERT_TRUE(stub_->DeletePseudowire(&del2, del, &empty).ok());
  ClientContext del3;
  EXPECT_EQ(stub_->DeletePseudowire(&del3, del, &empty).error_code(), StatusCode::NOT_FOUND);
  ClientContext del4;
  del.set_allow_missing(true);
  EXPECT_TRUE(stub_->DeletePseudowire(&del4, del, &empty).ok());
  ClientContext get2;
  EXPECT_EQ(stub_->GetPseudowire(&get2, get, &got).error_code(), StatusCode::NOT_FOUND);
  ClientContext get3;
  get.set_name("classes/p1");
  EXPECT_EQ(stub_->GetPseudowire(&get3, get, &got).error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(PwireServiceTest, BadInputNamesTheField) {
  Pseudowire pw = testing::EthernetPw("p1");
  pw.mutable_spec()->mutable_endpoints(1)->mutable_agent()->mutable_circuit()->clear_interface();
  grpc::Status s = CreatePw(pw);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("spec.endpoints[1].agent.circuit.interface"));
  pw = testing::EthernetPw("Bad_Name");
  s = CreatePw(pw);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("pseudowire.name"));
}

TEST_F(PwireServiceTest, ListPaginatesAndFilters) {
  for (int i = 0; i < 5; ++i) {
    Pseudowire pw =
        testing::EthernetPw("p" + std::to_string(i), "a", "b", "eth" + std::to_string(i));
    (*pw.mutable_spec()->mutable_labels())["site"] = i % 2 ? "odd" : "even";
    ASSERT_TRUE(CreatePw(pw).ok());
  }
  pwire::v1::ListPseudowiresRequest req;
  req.set_page_size(2);
  std::vector<std::string> names;
  for (;;) {
    ClientContext ctx;
    pwire::v1::ListPseudowiresResponse resp;
    ASSERT_TRUE(stub_->ListPseudowires(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.total_size(), 5);
    for (const auto& pw : resp.pseudowires()) names.push_back(pw.name());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(names.size(), 5u);
  pwire::v1::ListPseudowiresRequest filtered;
  (*filtered.mutable_labels())["site"] = "odd";
  ClientContext ctx;
  pwire::v1::ListPseudowiresResponse resp;
  ASSERT_TRUE(stub_->ListPseudowires(&ctx, filtered, &resp).ok());
  EXPECT_EQ(resp.pseudowires_size(), 2);
  filtered.clear_labels();
  filtered.set_agent("agents/nobody");
  ClientContext ctx2;
  ASSERT_TRUE(stub_->ListPseudowires(&ctx2, filtered, &resp).ok());
  EXPECT_EQ(resp.pseudowires_size(), 0);
  ClientContext ctx3;
  pwire::v1::ListPseudowiresRequest bad;
  bad.set_page_token("garbage!");
  EXPECT_EQ(stub_->ListPseudowires(&ctx3, bad, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
}

TEST_F(PwireServiceTest, UpdatePseudowireWithMask) {
  Pseudowire created;
  ASSERT_TRUE(CreatePw(testing::EthernetPw("p1"), &created).ok());
  pwire::v1::UpdatePseudowireRequest req;
  *req.mutable_pseudowire() = created;
  req.mutable_pseudowire()->mutable_spec()->set_description("hello");
  req.mutable_update_mask()->add_paths("spec.description");
  ClientContext ctx;
  Pseudowire updated;
  ASSERT_TRUE(stub_->UpdatePseudowire(&ctx, req, &updated).ok());
  EXPECT_EQ(updated.spec().description(), "hello");
  EXPECT_EQ(updated.generation(), 2);
  ClientContext ctx2;  // the old etag is stale now
  EXPECT_EQ(stub_->UpdatePseudowire(&ctx2, req, &updated).error_code(), StatusCode::ABORTED);
  ClientContext ctx3;
  req.mutable_pseudowire()->set_name("pseudowires/none");
  req.mutable_pseudowire()->clear_etag();
  EXPECT_EQ(stub_->UpdatePseudowire(&ctx3, req, &updated).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(PwireServiceTest, ClassMethods) {
  pwire::v1::CreatePseudowireClassRequest create;
  create.set_class_id("gold");
  create.mutable_pseudowire_class()->set_cookie_length(8);
  pwire::v1::PseudowireClass c;
  ClientContext ctx;
  ASSERT_TRUE(stub_->CreatePseudowireClass(&ctx, create, &c).ok());
  EXPECT_EQ(c.name(), "classes/gold");
  ClientContext ctx2;
  EXPECT_EQ(stub_->CreatePseudowireClass(&ctx2, create, &c).error_code(),
            StatusCode::ALREADY_EXISTS);
  ClientContext ctx3;
  create.set_class_id("bad");
  create.mutable_pseudowire_class()->set_cookie_length(5);
  grpc::Status s = stub_->CreatePseudowireClass(&ctx3, create, &c);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("cookie_length"));

  pwire::v1::UpdatePseudowireClassRequest update;
  update.mutable_pseudowire_class()->set_name("classes/gold");
  update.mutable_pseudowire_class()->set_udp_port(1702);
  update.mutable_update_mask()->add_paths("udp_port");
  ClientContext ctx4;
  ASSERT_TRUE(stub_->UpdatePseudowireClass(&ctx4, update, &c).ok());
  EXPECT_EQ(c.udp_port(), 1702u);
  EXPECT_EQ(c.cookie_length(), 8u);

  ClientContext ctx5;
  pwire::v1::ListPseudowireClassesResponse list;
  ASSERT_TRUE(stub_->ListPseudowireClasses(&ctx5, {}, &list).ok());
  EXPECT_EQ(list.classes_size(), 1);

  Pseudowire pw = testing::EthernetPw("p1");
  pw.mutable_spec()->set_pseudowire_class("gold");
  ASSERT_TRUE(CreatePw(pw).ok());
  pwire::v1::DeletePseudowireClassRequest del;
  del.set_name("classes/gold");
  google::protobuf::Empty empty;
  ClientContext ctx6;
  EXPECT_EQ(stub_->DeletePseudowireClass(&ctx6, del, &empty).error_code(),
            StatusCode::FAILED_PRECONDITION);
  ClientContext ctx7;
  pwire::v1::GetPseudowireClassRequest get;
  get.set_name("gold");
  ASSERT_TRUE(stub_->GetPseudowireClass(&ctx7, get, &c).ok());
}

TEST_F(PwireServiceTest, ApplyReturnsTheDiff) {
  pwire::v1::ApplyRequest req;
  *req.add_pseudowires() = testing::EthernetPw("p1");
  *req.add_pseudowires() = testing::EthernetPw("p2", "edge-a", "edge-b", "eth2");
  pwire::v1::ApplyResponse resp;
  ClientContext ctx;
  ASSERT_TRUE(stub_->Apply(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.changes_size(), 2);
  EXPECT_EQ(resp.changes(0).action(), pwire::v1::ResourceChange::CREATED);
  ClientContext ctx2;
  ASSERT_TRUE(stub_->Apply(&ctx2, req, &resp).ok());
  EXPECT_EQ(resp.changes(1).action(), pwire::v1::ResourceChange::UNCHANGED);
}

TEST_F(PwireServiceTest, WatchSendsSnapshotSyncThenChanges) {
  ASSERT_TRUE(CreatePw(testing::EthernetPw("p1")).ok());
  ClientContext ctx;
  pwire::v1::WatchRequest req;
  req.add_kinds(pwire::v1::PSEUDOWIRE);
  auto reader = stub_->Watch(&ctx, req);
  pwire::v1::WatchEvent ev;
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.type(), pwire::v1::WatchEvent::ADDED);
  EXPECT_EQ(ev.name(), "pseudowires/p1");
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.type(), pwire::v1::WatchEvent::SYNC);
  ASSERT_TRUE(CreatePw(testing::EthernetPw("p2", "edge-a", "edge-b", "eth9")).ok());
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.type(), pwire::v1::WatchEvent::ADDED);
  EXPECT_EQ(ev.name(), "pseudowires/p2");
  ClientContext del_ctx;
  pwire::v1::DeletePseudowireRequest del;
  del.set_name("p1");
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->DeletePseudowire(&del_ctx, del, &empty).ok());
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.type(), pwire::v1::WatchEvent::DELETED);
  EXPECT_EQ(ev.name(), "pseudowires/p1");
  ctx.TryCancel();
  while (reader->Read(&ev)) {
  }
}

TEST_F(PwireServiceTest, WatchFiltersByLabels) {
  auto labelled = [](const std::string& id, const std::string& iface, const std::string& site) {
    auto pw = testing::EthernetPw(id, "edge-a", "edge-b", iface);
    (*pw.mutable_spec()->mutable_labels())["site"] = site;
    return pw;
  };
  ASSERT_TRUE(CreatePw(labelled("even1", "eth1", "even")).ok());
  ASSERT_TRUE(CreatePw(labelled("odd1", "eth2", "odd")).ok());
  ClientContext ctx;
  pwire::v1::WatchRequest req;
  (*req.mutable_labels())["site"] = "odd";
  auto reader = stub_->Watch(&ctx, req);
  pwire::v1::WatchEvent ev;
  ASSERT_TRUE(reader->Read(&ev));  // the snapshot holds only the matching pseudowire
  EXPECT_EQ(ev.type(), pwire::v1::WatchEvent::ADDED);
  EXPECT_EQ(ev.name(), "pseudowires/odd1");
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.type(), pwire::v1::WatchEvent::SYNC);
  // A non-matching change is not sent; the next event is the matching one made after it.
  ASSERT_TRUE(CreatePw(labelled("even2", "eth3", "even")).ok());
  ASSERT_TRUE(CreatePw(labelled("odd2", "eth4", "odd")).ok());
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.type(), pwire::v1::WatchEvent::ADDED);
  EXPECT_EQ(ev.name(), "pseudowires/odd2");
  ctx.TryCancel();
  while (reader->Read(&ev)) {
  }
}

TEST_F(PwireServiceTest, AgentsAndServerStatus) {
  ClientContext ctx;
  pwire::v1::GetAgentRequest get;
  get.set_name("agents/nobody");
  pwire::v1::Agent agent;
  EXPECT_EQ(stub_->GetAgent(&ctx, get, &agent).error_code(), StatusCode::NOT_FOUND);
  ClientContext ctx2;
  pwire::v1::ListAgentsResponse agents;
  ASSERT_TRUE(stub_->ListAgents(&ctx2, {}, &agents).ok());
  EXPECT_EQ(agents.agents_size(), 0);
  ClientContext ctx3;
  pwire::v1::DeleteAgentRequest del;
  del.set_name("agents/nobody");
  google::protobuf::Empty empty;
  EXPECT_EQ(stub_->DeleteAgent(&ctx3, del, &empty).error_code(), StatusCode::NOT_FOUND);
  ASSERT_TRUE(CreatePw(testing::EthernetPw("p1")).ok());
  ClientContext ctx4;
  pwire::v1::ServerStatus status;
  ASSERT_TRUE(stub_->GetServerStatus(&ctx4, {}, &status).ok());
  EXPECT_EQ(status.pseudowire_count(), 1);
  EXPECT_EQ(status.store(), "memory");
  EXPECT_EQ(status.pseudowires_by_state().at("PENDING"), 1);
}

TEST_F(PwireServiceTest, HealthCheckServes) {
  grpc::GenericStub generic(channel_);
  grpc::ByteBuffer request, response;  // HealthCheckRequest{service: ""} is empty
  grpc::Slice empty_slice;
  request = grpc::ByteBuffer(&empty_slice, 1);
  ClientContext ctx;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                    [&done](grpc::Status s) { done.set_value(s); });
  ASSERT_TRUE(done.get_future().get().ok());
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
}

}  // namespace
}  // namespace pwire::server
