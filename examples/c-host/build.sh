#!/bin/sh
# Builds the C host: wasm2c turns build/atc.wasm into C, the system compiler builds that with main.c and wasm2c's
# runtime (wasm-rt-impl.c, shipped as source). Nothing generated is committed: it all goes to OUT_DIR.
#
#   examples/c-host/build.sh [OUT_DIR]        default OUT_DIR: examples/c-host/out; prints the binary's path
#   environment: CC (cc), CFLAGS (-O2), WASM (build/atc.wasm), WASM2C (wasm2c), WASM_RT_DIR (found below)
#
# Debian: apt-get install wabt build-essential
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$HERE/out}
WASM=${WASM:-$ROOT/build/atc.wasm}
WASM2C=${WASM2C:-wasm2c}
CC=${CC:-cc}
CFLAGS=${CFLAGS:--O2}

if [ -z "${WASM_RT_DIR:-}" ]; then
  for dir in /usr/src/wasm2c /usr/share/wabt/wasm2c /usr/local/share/wabt/wasm2c /usr/local/src/wasm2c; do
    if [ -f "$dir/wasm-rt-impl.c" ]; then WASM_RT_DIR=$dir; break; fi
  done
fi
if [ -z "${WASM_RT_DIR:-}" ]; then
  echo "build.sh: wasm2c's runtime (wasm-rt-impl.c) not found; set WASM_RT_DIR (Debian: apt-get install wabt)" >&2
  exit 1
fi

mkdir -p "$OUT"
"$WASM2C" "$WASM" -o "$OUT/atc.c"
# main.c uses wabt 1.0.32's names (Z_atcZ_<export>); wabt 1.0.33 renamed them (w2c_atc_<export>).
if ! grep -q 'Z_atc_instantiate' "$OUT/atc.h"; then
  echo "build.sh: $("$WASM2C" --version) emits names main.c does not use (it expects wabt 1.0.32's Z_atcZ_<export>)" >&2
  exit 1
fi
# -ffp-contract=off: a C compiler may fuse a * b + c into one fused multiply-add (one rounding) where WebAssembly
# rounds twice (GCC does by default on CPUs with FMA); the alerts would then differ from every other host's in the
# last bits.
# shellcheck disable=SC2086
$CC $CFLAGS -ffp-contract=off -I"$OUT" -I"$WASM_RT_DIR" \
  "$HERE/main.c" "$OUT/atc.c" "$WASM_RT_DIR/wasm-rt-impl.c" -lm -o "$OUT/atc-host"
echo "$OUT/atc-host"
