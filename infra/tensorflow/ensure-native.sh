#!/usr/bin/env bash
# Native TensorFlow for TF.js (@tensorflow/tfjs-node) on machines where its installer cannot
# download libtensorflow (air-gapped sites, or this workplace). One step, idempotent:
#   1. the normal path: `npm install @tensorflow/tfjs-node` with its own installer (downloads
#      libtensorflow and a prebuilt addon where the network allows);
#   2. else: TensorFlow's C API from the official `tensorflow-cpu` wheel on PyPI
#      (libtensorflow_cc.so.2 exports the TF_/TFE_ C API; the wheel carries the C headers), laid out
#      as tfjs-node expects in its deps/ folder, and the addon built from source with node-gyp
#      against this Node's own headers.
# The wheel and the extracted library are cached in .cache/tensorflow. Nothing is saved to
# package.json: `npm ci` removes tfjs-node again, and this step puts it back in seconds.
# Env: TRIBUTARY_TF_WHEEL_VERSION (default 2.21.0), PIP_INDEX_URL (a PyPI mirror), TRIBUTARY_SKIP_NATIVE=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tfjs_node_version=4.22.0
tf_version=${TRIBUTARY_TF_WHEEL_VERSION:-2.21.0}
cache=$root/.cache/tensorflow
lib=$cache/libtensorflow-$tf_version
pkg=$root/node_modules/@tensorflow/tfjs-node
say() { printf '{"component":"ensure-native","event":"%s"%s}\n' "$1" "${2:+,\"detail\":\"$2\"}"; }

[ "${TRIBUTARY_SKIP_NATIVE:-0}" = 1 ] && { say skipped "TRIBUTARY_SKIP_NATIVE=1"; exit 0; }
loads() { node -e "const tf=require('@tensorflow/tfjs-node'); if (tf.getBackend()!=='tensorflow') process.exit(1)" > /dev/null 2>&1; }
if [ -d "$pkg" ] && loads; then say ready "tfjs-node loads"; exit 0; fi

# 1. The normal installer, where the network allows it. Its log goes to .cache/, which a fresh
# clone does not have yet: without it the redirection fails and this step is never tried.
mkdir -p "$root/.cache"
if npm install --no-save --no-audit --no-fund "@tensorflow/tfjs-node@$tfjs_node_version" > "$root/.cache/tfjs-node-install.log" 2>&1 && loads; then
  say ready "installed by tfjs-node's own installer"
  exit 0
fi
say fallback "tfjs-node's installer could not download libtensorflow; using the tensorflow-cpu $tf_version wheel from PyPI"

# 2. libtensorflow from the PyPI wheel.
mkdir -p "$cache"
if [ ! -f "$lib/lib/libtensorflow_cc.so.2" ]; then
  wheel=$(ls "$cache"/tensorflow_cpu-"$tf_version"-*.whl 2> /dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    say downloading "tensorflow-cpu==$tf_version (about 270 MB)"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux_2_27_x86_64 -d "$cache" "tensorflow-cpu==$tf_version"
    wheel=$(ls "$cache"/tensorflow_cpu-"$tf_version"-*.whl | head -n 1)
  fi
  rm -rf "$lib.tmp" && mkdir -p "$lib.tmp"
  python3 - "$wheel" "$lib.tmp" << 'PY'
import sys, zipfile, os
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.endswith('/'):
            continue
        if name in ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'):
            target = os.path.join(out, 'lib', os.path.basename(name))
        elif name.startswith('tensorflow/include/tensorflow/c/') or name.startswith('tensorflow/include/tensorflow/core/platform/') or name.startswith('tensorflow/include/tsl/') or name.startswith('tensorflow/include/xla/tsl/'):
            target = os.path.join(out, 'include', name[len('tensorflow/include/'):])
        else:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(name) as src, open(target, 'wb') as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY
  rm -rf "$lib" && mv "$lib.tmp" "$lib"
fi

# The tfjs-node package itself, without its downloading installer.
npm install --no-save --no-audit --no-fund --ignore-scripts "@tensorflow/tfjs-node@$tfjs_node_version" > "$root/.cache/tfjs-node-install.log" 2>&1 \
  || { tail -n 20 "$root/.cache/tfjs-node-install.log"; exit 1; }
rm -rf "$pkg/deps" && mkdir -p "$pkg/deps/lib"
cp -r "$lib/include" "$pkg/deps/include"
cp "$lib/lib/libtensorflow_cc.so.2" "$lib/lib/libtensorflow_framework.so.2" "$pkg/deps/lib/"
(
  cd "$pkg/deps/lib"
  # The names tfjs-node links (-ltensorflow) and checks for (libtensorflow.so.2.9.1); the SONAMEs
  # (libtensorflow_cc.so.2, libtensorflow_framework.so.2) are what the addon loads at run time.
  ln -sf libtensorflow_cc.so.2 libtensorflow.so
  ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so
  ln -sf libtensorflow_cc.so.2 libtensorflow.so.2.9.1
  ln -sf libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1
)
say building "tfjs-node addon from source against TensorFlow $tf_version"
# node-gyp reads Node's headers from nodedir (Debian's nodejs ships them under /usr/include/node).
nodedir=${npm_config_nodedir:-$(npm config get nodedir 2> /dev/null || true)}
[ -f "$nodedir/include/node/common.gypi" ] || nodedir=$(dirname "$(dirname "$(command -v node)")")
(cd "$pkg" && npm_config_nodedir="$nodedir" PATH="$root/node_modules/.bin:$PATH" node scripts/install.js) > "$root/.cache/tfjs-node-build.log" 2>&1 \
  || { tail -n 30 "$root/.cache/tfjs-node-build.log"; exit 1; }
if loads; then
  say ready "native TensorFlow $tf_version via the PyPI wheel"
else
  tail -n 30 "$root/.cache/tfjs-node-build.log"
  node -e "require('@tensorflow/tfjs-node')" 2>&1 | tail -n 5
  exit 1
fi
