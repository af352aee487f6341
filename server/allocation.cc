#include "server/allocation.h"

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "server/names.h"

namespace pwire::server {
namespace {

using pwire::v1::Allocation;
using pwire::v1::Pseudowire;
using pwire::v1::PseudowireSpec;
using pwire::v1::SessionParams;

std::string IdOf(const Pseudowire& pw) {
  return pw.name().substr(std::min(pw.name().size(), kPseudowires.size() + 1));
}

// Cookie octets derived from the server secret (RFC 3931 §4.1: cookies should be random to
// guard against blind insertion; derived from a random secret they are, and reproducible).
std::string DeriveCookie(absl::string_view secret, const std::string& name, int endpoint,
                         uint32_t length) {
  std::string input = absl::StrCat(secret, "|cookie|", name, "|", endpoint);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

uint32_t FirstFreeSession(const StaticIndex& index, const std::string& receiver,
                          absl::string_view except) {
  uint32_t id = 1;
  while (!index.SessionUser(receiver, id, except).empty()) ++id;
  return id;
}

uint32_t FirstFreeTunnel(const StaticIndex& index, const std::string& receiver,
                         absl::string_view except) {
  uint32_t id = 1;
  while (index.TunnelUsed(receiver, id, except)) ++id;
  return id;
}

absl::StatusOr<uint32_t> SessionFor(const Pseudowire& pw, int i, const Allocation* previous,
                                    const StaticIndex& index, const std::string& receiver) {
  const std::string id = IdOf(pw);
  const auto& given = pw.spec().static_params().endpoints();
  if (given.size() == 2 && given[i].session_id() != 0) {
    uint32_t sid = given[i].session_id();
    std::string user = index.SessionUser(receiver, sid, id);
    if (!user.empty()) {
      return FailedField(
          absl::StrCat("spec.static_params.endpoints[", i, "].session_id"),
          absl::StrCat("session ID ", sid, " is already used on ", receiver, " by pseudowires/",
                       user, "; choose another or leave it 0 to have one allocated"));
    }
    return sid;
  }
  if (previous != nullptr && previous->endpoints_size() == 2) {
    uint32_t sid = previous->endpoints(i).session_id();
    if (sid != 0 && index.SessionUser(receiver, sid, id).empty()) return sid;
  }
  return FirstFreeSession(index, receiver, id);
}

std::string CookieFor(const Pseudowire& pw, int i, uint32_t length, const Allocation* previous,
                      absl::string_view secret) {
  const auto& given = pw.spec().static_params().endpoints();
  if (given.size() == 2 && !given[i].cookie().empty()) return given[i].cookie();
  if (length == 0) return "";
  if (previous != nullptr && previous->endpoints_size() == 2 &&
      previous->endpoints(i).cookie().size() == length) {
    return previous->endpoints(i).cookie();
  }
  return DeriveCookie(secret, pw.name(), i, length);
}

}  // namespace

std::string ReceiverKey(const pwire::v1::Endpoint& e) {
  if (e.has_agent()) return e.agent().agent();
  return absl::StrCat("external/", e.external().address());
}

void StaticIndex::Add(const Pseudowire& pw) {
  if (pw.spec().mode() != PseudowireSpec::STATIC || pw.allocation().endpoints_size() != 2) return;
  std::string id = IdOf(pw);
  for (int i = 0; i < 2; ++i) {
    std::string r = ReceiverKey(pw.spec().endpoints(i));
    sessions_[{r, pw.allocation().endpoints(i).session_id()}] = id;
    tunnels_[{r, pw.allocation().endpoints(i).control_connection_id()}].insert(id);
  }
}

void StaticIndex::Remove(const Pseudowire& pw) {
  if (pw.spec().mode() != PseudowireSpec::STATIC || pw.allocation().endpoints_size() != 2) return;
  std::string id = IdOf(pw);
  for (int i = 0; i < 2; ++i) {
    std::string r = ReceiverKey(pw.spec().endpoints(i));
    Key sk{r, pw.allocation().endpoints(i).session_id()};
    auto it = sessions_.find(sk);
    if (it != sessions_.end() && it->second == id) sessions_.erase(it);
    Key tk{r, pw.allocation().endpoints(i).control_connection_id()};
    auto t = tunnels_.find(tk);
    if (t != tunnels_.end()) {
      t->second.erase(id);
      if (t->second.empty()) tunnels_.erase(t);
    }
  }
}

std::string StaticIndex::SessionUser(const std::string& receiver, uint32_t session_id,
                                     absl::string_view except) const {
  auto it = sessions_.find({receiver, session_id});
  if (it == sessions_.end() || it->second == except) return "";
  return it->second;
}

bool StaticIndex::TunnelUsed(const std::string& receiver, uint32_t id,
                             absl::string_view except) const {
  auto it = tunnels_.find({receiver, id});
  if (it == tunnels_.end()) return false;
  return it->second.size() > 1 || !it->second.contains(std::string(except));
}

std::optional<std::pair<uint32_t, uint32_t>> StaticIndex::PairTunnel(
    const std::string& a, const std::string& b, absl::string_view except) const {
  // Tunnels on a used by some pseudowire that also has a tunnel on b: scan a's tunnels.
  for (auto it = tunnels_.lower_bound({a, 0}); it != tunnels_.end() && it->first.first == a; ++it) {
    for (auto jt = tunnels_.lower_bound({b, 0}); jt != tunnels_.end() && jt->first.first == b;
         ++jt) {
      for (const std::string& pw : it->second) {
        if (pw != except && jt->second.contains(pw)) {
          return std::make_pair(it->first.second, jt->first.second);
        }
      }
    }
  }
  return std::nullopt;
}

absl::StatusOr<Allocation> Allocate(const Pseudowire& pw, uint32_t cookie_length,
                                    const Allocation* previous, const StaticIndex& index,
                                    absl::string_view secret) {
  const PseudowireSpec& spec = pw.spec();
  Allocation out;
  // Initiator: for two agents the one whose name sorts first; otherwise the agent end.
  const auto& e0 = spec.endpoints(0);
  const auto& e1 = spec.endpoints(1);
  if (e0.has_agent() && e1.has_agent()) {
    out.set_initiator(e0.agent().agent() <= e1.agent().agent() ? 0 : 1);
  } else {
    out.set_initiator(e0.has_agent() ? 0 : 1);
  }
  const pwire::v1::Endpoint& ext = e0.has_external() ? e0 : e1;
  if (ext.has_external() && !ext.external().remote_end_id().empty()) {
    out.set_remote_end_id(ext.external().remote_end_id());
  } else if (ext.has_external() && ext.external().vc_id() != 0) {
    uint32_t v = ext.external().vc_id();
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                 static_cast<char>(v)};
    out.set_remote_end_id(std::string(b, 4));
  } else {
    out.set_remote_end_id(IdOf(pw));
  }
  if (spec.mode() != PseudowireSpec::STATIC) return out;

  const std::string id = IdOf(pw);
  std::string r[2] = {ReceiverKey(e0), ReceiverKey(e1)};
  std::optional<std::pair<uint32_t, uint32_t>> pair = index.PairTunnel(r[0], r[1], id);
  for (int i = 0; i < 2; ++i) {
    SessionParams* p = out.add_endpoints();
    auto sid = SessionFor(pw, i, previous, index, r[i]);
    if (!sid.ok()) return sid.status();
    p->set_session_id(*sid);
    p->set_cookie(CookieFor(pw, i, cookie_length, previous, secret));
    const auto& given = spec.static_params().endpoints();
    if (given.size() == 2 && given[i].control_connection_id() != 0) {
      p->set_control_connection_id(given[i].control_connection_id());
    } else if (pair) {
      p->set_control_connection_id(i == 0 ? pair->first : pair->second);
    } else if (previous != nullptr && previous->endpoints_size() == 2 &&
               previous->endpoints(i).control_connection_id() != 0) {
      p->set_control_connection_id(previous->endpoints(i).control_connection_id());
    } else {
      p->set_control_connection_id(FirstFreeTunnel(index, r[i], id));
    }
  }
  return out;
}

}  // namespace pwire::server
