// Control message encoding: see message.h.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "agent/l2tp/hidden.h"
#include "agent/l2tp/message.h"
#include "pwire/base/bytes.h"

namespace pwire::l2tp {
namespace {

constexpr size_t kRandomVectorLength = 16;

class AvpEncoder {
 public:
  AvpEncoder(Bytes& out, const EncodeOptions& options) : out_(out), options_(options) {}

  absl::Status Encode(const Avp& avp) {
    if (avp.vendor_id == 0) {
      const AvpInfo* info = FindAvpInfo(avp.attribute);
      if (info != nullptr && static_cast<size_t>(info->kind) != avp.value.index()) {
        return absl::InvalidArgumentError(
            absl::StrCat("AVP ", info->name, ": value of the wrong type"));
      }
      if (info != nullptr && info->attr == Attr::kRandomVector) {
        if (const Bytes* rv = std::get_if<Bytes>(&avp.value)) {
          random_vector_ = *rv;
        }
      }
    }
    value_.clear();
    uint16_t vendor = static_cast<uint16_t>(avp.vendor_id);
    uint16_t attribute = avp.attribute;
    if (avp.vendor_id > 0xffff) {  // RFC 3931 §5.1: Extended Vendor ID AVP 58
      base::Writer w(value_);
      w.U32(avp.vendor_id);
      w.U16(avp.attribute);
      vendor = 0;
      attribute = kExtendedVendorIdAttr;
    }
    EncodeValue(avp.value, value_);
    if (avp.hidden) {
      absl::Status s = Hide(attribute);
      if (!s.ok()) {
        return s;
      }
    }
    if (kAvpHeaderSize + value_.size() > kMaxAvpLength) {
      return absl::InvalidArgumentError(
          absl::StrCat("AVP ", attribute, " of ", value_.size(), " bytes is too long"));
    }
    base::Writer w(out_);
    w.U16(static_cast<uint16_t>((avp.mandatory ? kAvpFlagMandatory : 0) |
                                (avp.hidden ? kAvpFlagHidden : 0) |
                                (kAvpHeaderSize + value_.size())));
    w.U16(vendor);
    w.U16(attribute);
    w.Bytes(value_);
    return absl::OkStatus();
  }

 private:
  // RFC 2661 §4.3: a Random Vector AVP must precede the first hidden AVP; add one if the
  // message has none yet.
  absl::Status Hide(uint16_t attribute) {
    if (options_.secret.empty()) {
      return absl::FailedPreconditionError("hidden AVP, no secret");
    }
    if (random_vector_.empty()) {
      if (options_.random == nullptr) {
        return absl::FailedPreconditionError("hidden AVP, no random source");
      }
      Bytes rv(kRandomVectorLength);
      options_.random->Fill(rv);
      Avp rv_avp{.vendor_id = 0,
                 .attribute = static_cast<uint16_t>(Attr::kRandomVector),
                 .mandatory = true,
                 .hidden = false,
                 .value = rv};
      Bytes saved = std::move(value_);
      value_.clear();
      absl::Status s = Encode(rv_avp);
      if (!s.ok()) {
        return s;
      }
      value_ = std::move(saved);
    }
    value_ = HideValue(attribute, value_, options_.secret, random_vector_);
    return absl::OkStatus();
  }

  Bytes& out_;
  const EncodeOptions& options_;
  Bytes value_;
  Bytes random_vector_;
};

}  // namespace

absl::StatusOr<Bytes> EncodeControl(const ControlHeader& header, const Message& message,
                                    Transport transport, const EncodeOptions& options) {
  if (header.version != 3 && header.version != 2) {
    return absl::InvalidArgumentError("version must be 2 or 3");
  }
  if (header.version == 2 && (header.connection_id > 0xffff || transport != Transport::kUdp)) {
    return absl::InvalidArgumentError("v2: 16-bit tunnel ID, over UDP only");
  }
  Bytes out;
  out.reserve(128);
  AppendControlHeader(out, header, 0, transport);
  size_t start = transport == Transport::kIp ? kIpControlPrefixSize : 0;
  if (!message.is_zlb()) {
    AvpEncoder encoder(out, options);
    Avp type{.vendor_id = 0,
             .attribute = 0,
             .mandatory = message.type_mandatory(),
             .hidden = false,
             .value = static_cast<uint16_t>(message.type())};
    absl::Status s = encoder.Encode(type);
    // RFC 3931 §5.4.1: Message Digest AVPs right after the Message Type AVP.
    auto is_digest = [](const Avp& a) {
      return a.vendor_id == 0 && a.attribute == static_cast<uint16_t>(Attr::kMessageDigest);
    };
    for (const Avp& avp : message.avps()) {
      if (s.ok() && is_digest(avp)) {
        s = encoder.Encode(avp);
      }
    }
    for (const Avp& avp : message.avps()) {
      if (s.ok() && !is_digest(avp)) {
        s = encoder.Encode(avp);
      }
    }
    if (!s.ok()) {
      return s;
    }
  }
  size_t length = out.size() - start;
  if (length > 0xffff) {
    return absl::InvalidArgumentError("control message over 65535 bytes");
  }
  base::StoreBe16(&out[LengthFieldOffset(transport)], static_cast<uint16_t>(length));
  return out;
}

}  // namespace pwire::l2tp
