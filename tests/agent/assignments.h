// A dynamic Ethernet pseudowire assignment between two loopback agents, as the server sends
// it in a DesiredState (no cookie, the class's defaults). Shared by the agent tests and by
// tests/bench/agent_bench.cc, which add the parameters they exercise.
#pragma once

#include <cstdint>
#include <string>

#include "pwire/v1/agent_service.pb.h"

namespace pwire::agent::test_support {

inline v1::PseudowireAssignment DynamicAssignment(const std::string& local, const std::string& peer,
                                                  uint16_t port, v1::Role role,
                                                  const std::string& id) {
  v1::PseudowireAssignment a;
  a.set_name("pseudowires/" + id);
  a.set_generation(1);
  a.set_type(v1::PseudowireSpec::ETHERNET);
  a.set_mode(v1::PseudowireSpec::DYNAMIC);
  a.set_local_address(local);
  a.mutable_peer()->set_address(peer);
  a.mutable_peer()->set_udp_port(port);
  a.mutable_params()->set_udp_port(port);
  a.set_role(role);
  a.set_remote_end_id(id);
  a.mutable_circuit()->set_pw_interface_name("pw-" + id);
  return a;
}

}  // namespace pwire::agent::test_support
