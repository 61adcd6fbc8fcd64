#include "plugins/bridge/hash.h"

#include "libcni/sha512.h"

namespace bridge {

std::string Sha512Hex(std::string_view data) { return cni::HexPrefix(cni::Sha512(data)); }

}  // namespace bridge
