// linend's log: one line per event on stderr with a UTC timestamp (journald and
// kubectl logs add their own metadata; nothing here is parsed by machines).
#ifndef LINEN_AGENT_LOG_H_
#define LINEN_AGENT_LOG_H_

#include <string_view>

namespace linen::agent {

void Log(std::string_view msg);

}  // namespace linen::agent

#endif  // LINEN_AGENT_LOG_H_
