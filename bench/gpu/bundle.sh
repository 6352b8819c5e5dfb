#!/usr/bin/env bash
# Run HERE, before using the device tool: packs what bench/gpu/run.sh needs on the GPU machine (which has
# no Node.js and no network) into the git-ignored .gpu/ folder, well under the 64 MiB a call may carry:
#   .gpu/node.xz       this machine's node binary (~24 MB)
#   .gpu/speech/       the benchmark's espeak-ng sentences as WAVs (no espeak-ng there)
#   .gpu/bundle.tar.xz compiled JS (dist/), the runtime packages the CLI needs, node-addon-api,
#                      node-api-headers and whisper.cpp's source (with examples/, for whisper-cli) (~5 MB)
# Then: device run with carry [".gpu"] and command "bash bench/gpu/run.sh".
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu
npm run build --silent
[ -f .gpu/node.xz ] || xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
PRISM_BENCH_SPEECH=.gpu/speech node -e "import('./dist/bench/corpus.js').then(m => m.buildCorpus(30)).then(c => console.log('corpus:', c.source))"
W=node_modules/nodejs-whisper/cpp/whisper.cpp
tar -cf - dist node_modules/node-addon-api node_modules/node-api-headers node_modules/node-gyp-build \
  node_modules/commander node_modules/cli-progress node_modules/string-width node_modules/strip-ansi \
  node_modules/ansi-regex node_modules/emoji-regex node_modules/is-fullwidth-code-point \
  node_modules/nodejs-whisper/package.json "$W/CMakeLists.txt" "$W/cmake" "$W/src" "$W/include" "$W/ggml" "$W/examples" \
  "$W/bindings/go/samples/jfk.wav" | xz -T2 -6 > .gpu/bundle.tar.xz
ls -la .gpu
