// A streaming etcd v3 watch over the JSON gateway (POST /v3/watch keeps the HTTP
// response open and sends one JSON message per line). Driven from the caller's
// thread with curl's multi interface: no background thread, and Next() returns as
// soon as events arrive.
#ifndef LINEN_OVERLAY_REGISTRY_ETCD_ETCD_WATCH_H_
#define LINEN_OVERLAY_REGISTRY_ETCD_ETCD_WATCH_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libcni/error.h"
#include "overlay/registry/etcd/etcd_client.h"

namespace linen::etcd {

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete only key and mod_revision are set
};

class Watch {
 public:
  // Opens a watch on [key, range_end) from `start_revision` (0 = from now) and waits
  // until etcd confirms it (bounded by the client timeouts). Unreachable is code 11;
  // a TLS failure or a refused login is code 5. With auth, the watch carries the
  // client's token; when etcd refuses it (expired), the client logs in again and the
  // watch is opened once more from the same revision, so no event is lost.
  static cni::Result<std::unique_ptr<Watch>> Start(Client& client, const std::string& key,
                                                   const std::string& range_end,
                                                   int64_t start_revision);
  // The same with a client of its own, made from `opts` for this start only.
  static cni::Result<std::unique_ptr<Watch>> Start(const ClientOptions& opts,
                                                   const std::string& key,
                                                   const std::string& range_end,
                                                   int64_t start_revision);
  ~Watch();
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  // Waits up to `timeout` for events; empty on timeout. An error means the watch is
  // lost (stream closed, etcd gone, history compacted): re-read and start a new one.
  // Events already received are returned before the loss is reported.
  cni::Result<std::vector<WatchEvent>> Next(std::chrono::milliseconds timeout);

 private:
  Watch() = default;
  static cni::Result<std::unique_ptr<Watch>> StartWithToken(const ClientOptions& opts,
                                                            const std::string& token,
                                                            const std::string& body);
  cni::Status Open(const ClientOptions& opts, const std::string& endpoint,
                   const std::string& token, const std::string& body);
  // Moves complete lines out of buffer_ into pending_ / created_ / lost_.
  void ParseBuffer();
  // One round of transfer work; sets lost_ when the stream ends.
  void Drive();

  void* multi_ = nullptr;  // CURLM*
  void* easy_ = nullptr;   // CURL*
  void* headers_ = nullptr;  // curl_slist*
  std::string body_;
  std::string buffer_;
  std::string url_;
  ClientOptions opts_;  // for RefusalBehindReset
  char error_detail_[256] = {};  // CURLOPT_ERRORBUFFER (CURL_ERROR_SIZE)
  bool created_ = false;
  std::deque<WatchEvent> pending_;
  std::optional<cni::Error> lost_;
};

}  // namespace linen::etcd

#endif  // LINEN_OVERLAY_REGISTRY_ETCD_ETCD_WATCH_H_
