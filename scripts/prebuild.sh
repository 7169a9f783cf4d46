#!/usr/bin/env bash
# Builds the prebuilt addon that `npm pack` / `npm publish` put in the tarball (the "prepack"
# script): prebuilds/linux-x64/respcache.node, with hiredis and libstdc++ linked in
# (-DRESPCACHE_PREBUILT=ON), so that an install on linux-x64 with glibc >= 2.32 needs no compiler.
# Node-API 8 only, so the one file serves every Node >= 18. Fails if the binary needs a newer
# glibc than README promises, or a library a user's machine may lack; then loads it with node.
# On any other platform it fails: a tarball packed there would carry no prebuilt, and installs
# on linux-x64 without a compiler would fail. RESPCACHE_ALLOW_NO_PREBUILT=1 packs without one
# (installs then compile from source, scripts/install.js).
set -euo pipefail
cd "$(dirname "$0")/.."

# Only what this run builds goes into the tarball: no stray file left in prebuilds/ by an
# interrupted pack or by hand ("files" in package.json takes the whole folder).
rm -rf prebuilds
no_prebuilt() {
  if [ "${RESPCACHE_ALLOW_NO_PREBUILT:-0}" = 1 ]; then
    echo "respcache prebuild: $1; packing without a prebuilt (RESPCACHE_ALLOW_NO_PREBUILT=1)" >&2
    exit 0
  fi
  echo "respcache prebuild: $1. Pack on linux-x64 with glibc (the tarball must carry" \
    "prebuilds/linux-x64/respcache.node), or set RESPCACHE_ALLOW_NO_PREBUILT=1 to pack without it" >&2
  exit 1
}

# README's Install section names this floor; raise both together, never one alone.
GLIBC_FLOOR=2.32
out=prebuilds/linux-x64
target="$out/respcache.node"

platform="$(node -p 'process.platform + "-" + process.arch')"
if [ "$platform" != linux-x64 ]; then
  no_prebuilt "no prebuilt addon can be made on $platform (only on linux-x64)"
fi
if [ -z "$(node -p 'process.report.getReport().header.glibcVersionRuntime || ""')" ]; then
  no_prebuilt "this Node is not linked against glibc (musl?)"
fi

# Its own build folder, so the development build in build/ (dynamic, Debug or Release) is never
# overwritten. cmake-js uses node-api-headers (package.json "binary.napi_versions"): no download.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "respcache prebuild: compiling into build-prebuild/ (log: build-prebuild/prebuild.log)" >&2
if ! npx --no-install cmake-js compile --out build-prebuild --CDRESPCACHE_PREBUILT=ON \
    --parallel "${CMAKE_BUILD_PARALLEL_LEVEL:-2}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "respcache prebuild: the build failed (it needs cmake >= 3.15, a C++17 compiler and libhiredis-dev with libhiredis.a)" >&2
  exit 1
fi
cp "$log" build-prebuild/prebuild.log

mkdir -p "$out"
# --strip-unneeded keeps the dynamic symbol table (napi_register_module_v1, the imports).
strip --strip-unneeded -o "$target.tmp" build-prebuild/Release/respcache.node
mv "$target.tmp" "$target"

fail() {
  rm -f "$target"
  echo "respcache prebuild: $target $*" >&2
  exit 1
}

# The highest GLIBC_x.y symbol version it imports is the oldest glibc it loads on.
glibc="$(objdump -T "$target" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)"
if [ "$(printf '%s\n%s\n' "$glibc" "$GLIBC_FLOOR" | sort -V | tail -1)" != "$GLIBC_FLOOR" ]; then
  fail "needs glibc $glibc, above the $GLIBC_FLOOR README promises:
$(objdump -T "$target" | grep -F "GLIBC_$glibc")"
fi
needed="$(readelf -d "$target" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
if echo "$needed" | grep -Eq 'libhiredis|libstdc\+\+|libssl|libcrypto|libuv'; then
  fail "needs libraries a user's machine may lack (or a second libuv/OpenSSL beside node's): $needed"
fi
if ! node -e "require('./$target')"; then
  fail "does not load in node $(node -v)"
fi

echo "respcache prebuild: $target ($(du -k "$target" | cut -f1) KB, glibc >= $glibc, needs: $needed)" >&2
