// Helpers for server tests: a temporary directory and sample resources.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "pwire/v1/resources.pb.h"

namespace pwire::server::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pwire-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An Ethernet pseudowire between agents a and b on `iface` (both pre-provisioned).
inline pwire::v1::Pseudowire EthernetPw(const std::string& id, const std::string& a = "edge-a",
                                        const std::string& b = "edge-b",
                                        const std::string& iface = "eth1") {
  pwire::v1::Pseudowire pw;
  pw.set_name("pseudowires/" + id);
  auto* spec = pw.mutable_spec();
  spec->set_type(pwire::v1::PseudowireSpec::ETHERNET);
  for (const auto& agent : {a, b}) {
    auto* e = spec->add_endpoints()->mutable_agent();
    e->set_agent(agent);
    e->set_pre_provision(true);
    e->mutable_circuit()->set_interface(iface);
  }
  return pw;
}

}  // namespace pwire::server::testing
