// Validation of API v1 requests: every field, with the field path and what to do in each
// message. Pure functions; references (classes, agents) are looked up through a small
// interface so the registry and the tests can answer them.
#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "pwire/v1/resources.pb.h"

namespace pwire::server {

class ReferenceLookup {
 public:
  virtual ~ReferenceLookup() = default;
  // The class with this id, or nullptr.
  virtual const pwire::v1::PseudowireClass* FindClass(absl::string_view id) const = 0;
  // The registered agent with this id, or nullptr.
  virtual const pwire::v1::Agent* FindAgent(absl::string_view id) const = 0;
};

// Turns bare ids into full names ("x" -> "agents/x", "classes/x") and checks their syntax.
absl::Status NormalizePseudowireSpec(pwire::v1::PseudowireSpec& spec);

// Every field of a (normalized) spec, and its references. INVALID_ARGUMENT for bad fields,
// FAILED_PRECONDITION for references to what does not exist.
absl::Status ValidatePseudowireSpec(const pwire::v1::PseudowireSpec& spec,
                                    const ReferenceLookup& lookup);

// Every settable field of a class.
absl::Status ValidateClass(const pwire::v1::PseudowireClass& pw_class);

// Labels: keys 1-63 of [a-z0-9_./-], values up to 63 characters, at most 64 entries.
absl::Status ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels,
                            absl::string_view path);

// The class with every default filled in (what agents receive). Secrets are kept.
pwire::v1::PseudowireClass ResolveClassDefaults(const pwire::v1::PseudowireClass& pw_class);

// True if `address` is a literal IPv4 or IPv6 address.
bool IsIpAddress(absl::string_view address);
bool IsIpv6Address(absl::string_view address);

}  // namespace pwire::server
