#include "redis/redis_endpoint.h"

namespace respcache {

std::string Describe(const RedisEndpoint& e) {
  if (!e.path.empty()) return "unix:" + e.path;
  return e.host + ":" + std::to_string(e.port);
}

}  // namespace respcache
