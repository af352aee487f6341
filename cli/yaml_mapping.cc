// YAML <-> protobuf JSON mapping, guided by descriptors (see yaml_mapping.h).
#include "yaml_mapping.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace pwire::cli {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

struct Ctx {
  absl::string_view source;
};

absl::Status Error(const YAML::Node& node, const Ctx& ctx, absl::string_view path,
                   absl::string_view message) {
  std::string where = NodeLocation(node, ctx.source);
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", message));
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", path, ": ", message));
}

std::string Join(absl::string_view path, absl::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

absl::string_view KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

// Levenshtein distance, for "did you mean" hints on misspelled field names.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string UnknownFieldMessage(absl::string_view key, const pb::Descriptor* d) {
  std::vector<std::string> names;
  std::string best;
  size_t best_distance = 3;  // suggest only close matches
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string& name = d->field(i)->name();
    names.push_back(name);
    size_t dist = EditDistance(absl::AsciiStrToLower(key), name);
    if (dist < best_distance) {
      best_distance = dist;
      best = name;
    }
  }
  std::string message = absl::StrCat("unknown field \"", key, "\" in ", d->name());
  if (!best.empty()) absl::StrAppend(&message, "; did you mean \"", best, "\"?");
  absl::StrAppend(&message, " (fields: ", absl::StrJoin(names, ", "), ")");
  return message;
}

// --- scalars ---

bool ParseInteger(absl::string_view text, bool is_signed, int64_t* s, uint64_t* u) {
  std::string t(absl::StripAsciiWhitespace(text));
  t.erase(std::remove(t.begin(), t.end(), '_'), t.end());
  if (t.empty()) return false;
  bool negative = t[0] == '-';
  absl::string_view digits = t;
  if (t[0] == '-' || t[0] == '+') digits.remove_prefix(1);
  int base = 10;
  if (absl::ConsumePrefix(&digits, "0x") || absl::ConsumePrefix(&digits, "0X")) base = 16;
  if (digits.empty()) return false;
  for (char c : digits) {
    if (base == 10 ? !absl::ascii_isdigit(c) : !absl::ascii_isxdigit(c)) return false;
  }
  std::string d(digits);
  errno = 0;
  uint64_t magnitude = std::strtoull(d.c_str(), nullptr, base);
  if (errno == ERANGE) return false;
  if (!is_signed) {
    if (negative && magnitude != 0) return false;
    *u = magnitude;
    return true;
  }
  constexpr uint64_t kMaxPos = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (magnitude > kMaxPos + 1) return false;
    *s = magnitude == kMaxPos + 1 ? std::numeric_limits<int64_t>::min()
                                  : -static_cast<int64_t>(magnitude);
  } else {
    if (magnitude > kMaxPos) return false;
    *s = static_cast<int64_t>(magnitude);
  }
  return true;
}

absl::StatusOr<Json> ConvertInteger(const YAML::Node& node, const FD* f, const Ctx& ctx,
                                    absl::string_view path) {
  const std::string& text = node.Scalar();
  int64_t s = 0;
  uint64_t u = 0;
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT32:
      if (ParseInteger(text, true, &s, &u) && s >= std::numeric_limits<int32_t>::min() &&
          s <= std::numeric_limits<int32_t>::max()) {
        return Json(s);
      }
      return Error(node, ctx, path,
                   absl::StrCat("expects a 32-bit signed integer, got \"", text, "\""));
    case FD::CPPTYPE_UINT32:
      if (ParseInteger(text, false, &s, &u) && u <= std::numeric_limits<uint32_t>::max()) {
        return Json(u);
      }
      return Error(node, ctx, path,
                   absl::StrCat("expects an integer from 0 to 4294967295, got \"", text, "\""));
    case FD::CPPTYPE_INT64:
      // 64-bit integers are strings in the protobuf JSON mapping.
      if (ParseInteger(text, true, &s, &u)) return Json(absl::StrCat(s));
      return Error(node, ctx, path,
                   absl::StrCat("expects a 64-bit signed integer, got \"", text, "\""));
    default:
      if (ParseInteger(text, false, &s, &u)) return Json(absl::StrCat(u));
      return Error(node, ctx, path,
                   absl::StrCat("expects a 64-bit unsigned integer, got \"", text, "\""));
  }
}

absl::StatusOr<Json> ConvertFloat(const YAML::Node& node, const Ctx& ctx, absl::string_view path) {
  std::string text = absl::AsciiStrToLower(absl::StripAsciiWhitespace(node.Scalar()));
  if (text == ".inf" || text == "+.inf" || text == "infinity") return Json("Infinity");
  if (text == "-.inf" || text == "-infinity") return Json("-Infinity");
  if (text == ".nan" || text == "nan") return Json("NaN");
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE ||
      !std::isfinite(value)) {
    return Error(node, ctx, path, absl::StrCat("expects a number, got \"", node.Scalar(), "\""));
  }
  return Json(value);
}

absl::StatusOr<Json> ConvertBool(const YAML::Node& node, const Ctx& ctx, absl::string_view path) {
  std::string text = absl::AsciiStrToLower(node.Scalar());
  if (text == "true" || text == "yes" || text == "on") return Json(true);
  if (text == "false" || text == "no" || text == "off") return Json(false);
  return Error(node, ctx, path, absl::StrCat("expects true or false, got \"", node.Scalar(), "\""));
}

}  // namespace

std::string EnumValuePrefix(const pb::EnumDescriptor* e) {
  if (e->value_count() < 2) return "";
  std::string prefix = e->value(0)->name();
  for (int i = 1; i < e->value_count(); ++i) {
    const std::string& name = e->value(i)->name();
    size_t n = 0;
    while (n < prefix.size() && n < name.size() && prefix[n] == name[n]) ++n;
    prefix.resize(n);
  }
  size_t cut = prefix.rfind('_');
  return cut == std::string::npos ? "" : prefix.substr(0, cut + 1);
}

namespace {

std::string NormalizeEnumWord(absl::string_view text) {
  std::string out = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(text));
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

absl::StatusOr<Json> ConvertEnum(const YAML::Node& node, const pb::EnumDescriptor* e,
                                 const Ctx& ctx, absl::string_view path) {
  const std::string& text = node.Scalar();
  int64_t number = 0;
  uint64_t unused = 0;
  if (ParseInteger(text, true, &number, &unused)) {
    const pb::EnumValueDescriptor* v = e->FindValueByNumber(static_cast<int>(number));
    if (v != nullptr) return Json(v->name());
  }
  std::string word = NormalizeEnumWord(text);
  std::string prefix = EnumValuePrefix(e);
  std::vector<std::string> choices;
  for (int i = 0; i < e->value_count(); ++i) {
    const std::string& name = e->value(i)->name();
    if (word == name || (!prefix.empty() && prefix + word == name)) return Json(name);
    if (absl::EndsWith(name, "_UNSPECIFIED")) continue;
    choices.push_back(absl::AsciiStrToLower(absl::StripPrefix(name, prefix)));
  }
  return Error(node, ctx, path,
               absl::StrCat("unknown value \"", text, "\" for ", e->name(),
                            "; expected one of: ", absl::StrJoin(choices, ", ")));
}

// --- generic YAML (Struct, Value, ListValue, Any) ---

Json GenericScalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return Json(text);  // quoted: always a string
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "true") return Json(true);
  if (lower == "false") return Json(false);
  int64_t s = 0;
  uint64_t u = 0;
  if (ParseInteger(text, true, &s, &u)) return Json(s);
  char* end = nullptr;
  double d = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(d)) return Json(d);
  return Json(text);
}

Json GenericYaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = GenericYaml(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(GenericYaml(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return GenericScalar(node);
    default:
      return Json(nullptr);
  }
}

absl::StatusOr<Json> ConvertMessage(const YAML::Node& node, const pb::Descriptor* d, const Ctx& ctx,
                                    const std::string& path);

absl::StatusOr<Json> ConvertWellKnown(const YAML::Node& node, const pb::Descriptor* d,
                                      const Ctx& ctx, const std::string& path, bool* handled) {
  *handled = true;
  const std::string& name = d->full_name();
  if (name == "google.protobuf.Struct" || name == "google.protobuf.Value" ||
      name == "google.protobuf.ListValue" || name == "google.protobuf.Any") {
    return GenericYaml(node);
  }
  if (name == "google.protobuf.Duration" || name == "google.protobuf.Timestamp" ||
      name == "google.protobuf.FieldMask") {
    if (!node.IsScalar()) {
      return Error(node, ctx, path, absl::StrCat("expects a scalar such as \"30s\" for ", name));
    }
    std::string text = node.Scalar();
    int64_t s = 0;
    uint64_t u = 0;
    if (name == "google.protobuf.Duration" && ParseInteger(text, true, &s, &u)) {
      absl::StrAppend(&text, "s");  // a bare number of seconds
    }
    return Json(text);
  }
  *handled = false;
  return Json(nullptr);
}

absl::StatusOr<Json> ConvertSingular(const YAML::Node& node, const FD* f, const Ctx& ctx,
                                     const std::string& path) {
  if (f->cpp_type() == FD::CPPTYPE_MESSAGE) {
    const pb::Descriptor* d = f->message_type();
    if (absl::StartsWith(d->full_name(), "google.protobuf.") && d->field_count() == 1 &&
        d->field(0)->name() == "value" && absl::EndsWith(d->full_name(), "Value") &&
        d->full_name() != "google.protobuf.Value") {
      return ConvertSingular(node, d->field(0), ctx, path);
    }
    bool handled = false;
    absl::StatusOr<Json> wkt = ConvertWellKnown(node, d, ctx, path, &handled);
    if (handled) return wkt;
    return ConvertMessage(node, d, ctx, path);
  }
  if (!node.IsScalar()) {
    return Error(node, ctx, path, absl::StrCat("expects a single value, got ", KindName(node)));
  }
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT32:
    case FD::CPPTYPE_UINT32:
    case FD::CPPTYPE_INT64:
    case FD::CPPTYPE_UINT64:
      return ConvertInteger(node, f, ctx, path);
    case FD::CPPTYPE_FLOAT:
    case FD::CPPTYPE_DOUBLE:
      return ConvertFloat(node, ctx, path);
    case FD::CPPTYPE_BOOL:
      return ConvertBool(node, ctx, path);
    case FD::CPPTYPE_ENUM:
      return ConvertEnum(node, f->enum_type(), ctx, path);
    default:
      return Json(node.Scalar());  // string, or bytes as base64 (checked by the parser)
  }
}

absl::StatusOr<Json> ConvertMap(const YAML::Node& node, const FD* f, const Ctx& ctx,
                                const std::string& path) {
  if (!node.IsMap()) {
    return Error(node, ctx, path, absl::StrCat("expects a mapping, got ", KindName(node)));
  }
  const FD* key_field = f->message_type()->map_key();
  const FD* value_field = f->message_type()->map_value();
  Json out = Json::object();
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return Error(kv.first, ctx, path, "map keys must be scalars");
    std::string key_path = absl::StrCat(path, "[", kv.first.Scalar(), "]");
    if (key_field->cpp_type() != FD::CPPTYPE_STRING) {
      absl::StatusOr<Json> key = ConvertSingular(kv.first, key_field, ctx, key_path);
      if (!key.ok()) return key.status();
    }
    if (out.contains(kv.first.Scalar())) return Error(kv.first, ctx, key_path, "key given twice");
    absl::StatusOr<Json> value = ConvertSingular(kv.second, value_field, ctx, key_path);
    if (!value.ok()) return value.status();
    out[kv.first.Scalar()] = *std::move(value);
  }
  return out;
}

absl::StatusOr<Json> ConvertField(const YAML::Node& node, const FD* f, const Ctx& ctx,
                                  const std::string& path) {
  if (f->is_map()) return ConvertMap(node, f, ctx, path);
  if (!f->is_repeated()) return ConvertSingular(node, f, ctx, path);
  if (!node.IsSequence()) {
    return Error(node, ctx, path, absl::StrCat("expects a list, got ", KindName(node)));
  }
  Json out = Json::array();
  for (size_t i = 0; i < node.size(); ++i) {
    absl::StatusOr<Json> item = ConvertSingular(node[i], f, ctx, absl::StrCat(path, "[", i, "]"));
    if (!item.ok()) return item.status();
    out.push_back(*std::move(item));
  }
  return out;
}

const FD* FindField(const pb::Descriptor* d, const std::string& key) {
  const FD* f = d->FindFieldByName(key);
  if (f == nullptr) f = d->FindFieldByCamelcaseName(key);
  if (f == nullptr) {
    for (int i = 0; i < d->field_count() && f == nullptr; ++i) {
      if (d->field(i)->json_name() == key) f = d->field(i);
    }
  }
  return f;
}

absl::StatusOr<Json> ConvertMessage(const YAML::Node& node, const pb::Descriptor* d, const Ctx& ctx,
                                    const std::string& path) {
  if (node.IsNull()) return Json::object();
  if (!node.IsMap()) {
    return Error(node, ctx, path,
                 absl::StrCat("expects a mapping (", d->name(), "), got ", KindName(node)));
  }
  Json out = Json::object();
  std::set<int> seen;
  std::vector<const pb::OneofDescriptor*> oneofs_seen;
  std::vector<std::string> oneof_members;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) return Error(kv.first, ctx, path, "field names must be scalars");
    const std::string& key = kv.first.Scalar();
    const FD* f = FindField(d, key);
    std::string field_path = Join(path, key);
    if (f == nullptr) return Error(kv.first, ctx, field_path, UnknownFieldMessage(key, d));
    if (!seen.insert(f->number()).second) {
      return Error(kv.first, ctx, field_path, "field given twice");
    }
    if (kv.second.IsNull()) continue;  // "field: ~" leaves the field unset
    if (const pb::OneofDescriptor* o = f->real_containing_oneof(); o != nullptr) {
      for (size_t i = 0; i < oneofs_seen.size(); ++i) {
        if (oneofs_seen[i] == o) {
          return Error(kv.first, ctx, field_path,
                       absl::StrCat("\"", key, "\" and \"", oneof_members[i],
                                    "\" are alternatives (", o->name(), "); give only one"));
        }
      }
      oneofs_seen.push_back(o);
      oneof_members.push_back(key);
    }
    absl::StatusOr<Json> value = ConvertField(kv.second, f, ctx, field_path);
    if (!value.ok()) return value.status();
    out[f->name()] = *std::move(value);
  }
  return out;
}

bool LooksLikeNonString(const std::string& s) {
  if (s.empty()) return true;
  std::string lower = absl::AsciiStrToLower(s);
  static const std::set<std::string> kWords = {
      "true", "false", "yes", "no", "on", "off", "null", "~", ".inf", "-.inf", ".nan", "y", "n"};
  if (kWords.count(lower) > 0) return true;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  if (end == s.c_str() + s.size()) return true;
  return absl::ascii_isspace(s.front()) || absl::ascii_isspace(s.back());
}

void EmitJson(YAML::Emitter& out, const Json& json) {
  switch (json.type()) {
    case Json::value_t::object:
      if (json.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (const auto& [key, value] : json.items()) {
        out << YAML::Key << key << YAML::Value;
        EmitJson(out, value);
      }
      out << YAML::EndMap;
      return;
    case Json::value_t::array:
      if (json.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& item : json) EmitJson(out, item);
      out << YAML::EndSeq;
      return;
    case Json::value_t::string: {
      const std::string& s = json.get_ref<const std::string&>();
      if (LooksLikeNonString(s)) out << YAML::DoubleQuoted;
      out << s;
      return;
    }
    case Json::value_t::null:
      out << YAML::Null;
      return;
    default:
      out << json.dump();  // numbers and booleans print as in JSON
      return;
  }
}

}  // namespace

std::string NodeLocation(const YAML::Node& node, absl::string_view source) {
  YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return std::string(source);
  return absl::StrCat(source, ":", mark.line + 1, ":", mark.column + 1);
}

absl::StatusOr<Json> YamlToJson(const YAML::Node& node, const pb::Descriptor* descriptor,
                                absl::string_view source, absl::string_view path) {
  Ctx ctx{source};
  return ConvertMessage(node, descriptor, ctx, std::string(path));
}

absl::Status YamlToMessage(const YAML::Node& node, absl::string_view source, absl::string_view path,
                           pb::Message* message) {
  absl::StatusOr<Json> json = YamlToJson(node, message->GetDescriptor(), source, path);
  if (!json.ok()) return json.status();
  message->Clear();
  auto status = pb::util::JsonStringToMessage(json->dump(), message);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(NodeLocation(node, source), ": ", path,
                                                   path.empty() ? "" : ": ",
                                                   std::string(status.message())));
  }
  return absl::OkStatus();
}

Json MessageToJson(const pb::Message& message, const PrintOptions& options) {
  pb::util::JsonPrintOptions print;
  print.preserve_proto_field_names = options.proto_field_names;
  print.always_print_primitive_fields = options.always_print_primitives;
  std::string text;
  auto status = pb::util::MessageToJsonString(message, &text, print);
  if (!status.ok()) return Json::object();  // only fails on broken descriptors
  return Json::parse(text);
}

std::string JsonToText(const Json& json) { return json.dump(2) + "\n"; }

std::string JsonToYaml(const Json& json) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitJson(out, json);
  return std::string(out.c_str()) + "\n";
}

}  // namespace pwire::cli
