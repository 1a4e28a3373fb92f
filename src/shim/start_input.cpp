#include "shim/start_input.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include "any.pb.h"
#include "bootstrap.pb.h"

namespace reaper::shim {
namespace {

using google::protobuf::internal::WireFormatLite;

// Whether the top level of `bytes` is well-formed protobuf with a field numbered 3-9.
bool has_bootstrap_fields(std::string_view bytes) {
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                           static_cast<int>(bytes.size()));
  bool found = false;
  while (uint32_t tag = in.ReadTag()) {
    uint32_t field = WireFormatLite::GetTagFieldNumber(tag);
    if (field >= 3 && field <= 9) found = true;
    if (!WireFormatLite::SkipField(&in, tag)) return false;
  }
  return found && in.ConsumedEntireMessage();
}

}  // namespace

StartInput parse_start_input(std::string_view bytes) {
  StartInput out;
  if (bytes.empty()) return out;
  if (has_bootstrap_fields(bytes)) {
    containerd::runtime::bootstrap::v1::BootstrapParams params;
    if (!params.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return out;
    out.bootstrap = true;
    out.ns = params.namespace_();
    out.grpc_address = params.containerd_grpc_address();
    out.ttrpc_address = params.containerd_ttrpc_address();
    out.containerd_version = params.containerd_version();
    if (params.has_socket_dir() && !params.socket_dir().empty()) out.socket_dir = params.socket_dir();
    for (const auto& ext : params.extensions()) {
      if (ext.has_value() && out.options_type_url.empty()) out.options_type_url = ext.value().type_url();
    }
    return out;
  }
  google::protobuf::Any options;
  if (options.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    out.options_type_url = options.type_url();
  return out;
}

}  // namespace reaper::shim
