// libFuzzer target: the network config parsers every plugin runs on stdin. Any input
// must produce a value or a coded cni::Error: no crash, no exception escaping, no UB.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ipam/host-local/config.h"
#include "libcni/types.h"
#include "overlay/plugin/meta_conf.h"
#include "plugins/bridge/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto conf = cni::ParseNetConf(text);
  if (!conf) {
    if (conf.error().code() == cni::Code::kOk) std::abort();  // an error must carry a code
    return 0;
  }
  // Every config the skeleton accepts reaches the plugin's own parser; none may
  // throw (a throw would become code 999 in a plugin, a bug either way).
  auto hl = host_local::LoadIpamConfig(text, {{"IP", "10.1.0.9"}});
  (void)hl;
  auto br = bridge::ParseBridgeConf(*conf, "IgnoreUnknown=1;MAC=0a:58:0a:01:00:09");
  if (br) (void)bridge::ValidateForAdd(*br);
  auto meta = linen::overlay::ParseMetaConf(*conf);
  (void)meta;
  (void)conf->RequestedIps();
  return 0;
}
