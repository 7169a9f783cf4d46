// Parsing of Redis connection URLs:
//   redis://[[username]:password@]host[:port][/db][?db=N]   (host may be [IPv6])
//   unix:///path/to/redis.sock[?db=N]   and   redis+unix:///path?db=N
// Username and password are percent-decoded. rediss:// (TLS) is refused: not supported yet.
// An empty host (redis://, redis://:6380) means 127.0.0.1, as redis-cli assumes. A unix socket
// URL may also carry ?username= and ?password=. Any query parameter other than these and db is
// refused, so a misspelling fails at startup instead of silently using the defaults.
#pragma once
#include <string>
#include <string_view>

#include "redis/redis_endpoint.h"

namespace respcache {


// Returns true and fills *out, or returns false with a one-line reason in *error.
bool ParseRedisUrl(std::string_view url, RedisEndpoint* out, std::string* error);

}  // namespace respcache
