#include <gtest/gtest.h>
#include <uv.h>

// The Redis layer in this binary is compiled against Debian's uv.h and linked to its libuv; the
// addon's copy uses Node's. A mismatch here would mean headers and library disagree.
TEST(UvBuild, HeadersMatchTheLibrary) { EXPECT_EQ(uv_version(), static_cast<unsigned>(UV_VERSION_HEX)); }
