// Random locally administered unicast MACs. Setting a MAC explicitly marks it
// NET_ADDR_SET, so a bridge does not follow its ports' MACs and udev's
// MACAddressPolicy leaves a veth alone (plugins#805).
#ifndef LINEN_PLUGINS_BRIDGE_RANDOM_MAC_H_
#define LINEN_PLUGINS_BRIDGE_RANDOM_MAC_H_

#include <string>

namespace bridge {

std::string RandomMac();

}  // namespace bridge

#endif  // LINEN_PLUGINS_BRIDGE_RANDOM_MAC_H_
