#!/usr/bin/env bash
# Run THERE, on the H100 machine, through the device tool (after bench/gpu/bundle.sh here):
#   carry [".gpu"], command "bash bench/gpu/run.sh", timeout ~540 s.
# Builds the CUDA addon for sm_90 only (~4 min on 16 cores), runs the library checks with gpu: 'cuda'
# (bench/gpu/check.mjs: the assertions of the CPU suite), then prints a table: load ms, warm jfk ms
# (planted 25-word script, greedy) for medium and large-v3-turbo, and 1/2/4 concurrent states.
# A call may run 10 minutes: if build + checks + table leave too little for the benchmark, run with
# PRISM_GPU_BENCH=0 first and again at once (the warm machine keeps build/, which is then reused).
# Logs and JSON land in $OUT. PRISM_GPU_ABLATE=1 PRISM_GPU_CHECK=0 PRISM_GPU_TABLE=0 PRISM_GPU_BENCH=0: only the
# one-knob-at-a-time breakdown of a warm call (bench/gpu/ablate.mjs). Set PRISM_GPU_SIZES="medium" to do less. PRISM_GPU_BACKEND=cpu rehearses
# the whole script on a machine without a GPU (CPU build, tiny model).
# The build applies deps/patches (whisper-cli too: it shares the patched tree). PRISM_GPU_PATCHES=OFF
# builds everything from the pristine tree: run once each way to compare (rm -rf build between).
# Not yet run on a GPU with the patch set (no GPU was lent to the session that added it).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/prism-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1

start=$(date +%s)
mkdir -p /tmp/prism-node/bin
xz -dc .gpu/node.xz > /tmp/prism-node/bin/node && chmod +x /tmp/prism-node/bin/node
export PATH=/tmp/prism-node/bin:$PATH
tar -xJf .gpu/bundle.tar.xz
echo "node $(node --version); $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi')"

W=$PWD/node_modules/nodejs-whisper/cpp/whisper.cpp
GEN=Ninja
command -v ninja >/dev/null || GEN="Unix Makefiles"
BACKEND=${PRISM_GPU_BACKEND:-cuda}
CUDA_FLAGS="-DPRISM_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90"
[ "$BACKEND" = cuda ] || CUDA_FLAGS="-DPRISM_CUDA=OFF"
# shellcheck disable=SC2086
PATCHES=${PRISM_GPU_PATCHES:-ON}
cmake -S . -B build -G "$GEN" -DCMAKE_BUILD_TYPE=Release $CUDA_FLAGS -DPRISM_PATCHES="$PATCHES" \
  -DWHISPER_CPP_DIR="$W" -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" -DPRISM_REFERENCE_CLI=ON \
  -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$PWD/build/Release" > "$OUT/cmake.log"
# The addon and upstream's whisper-cli share one build of whisper.cpp/ggml(-cuda).
cmake --build build --parallel "$(nproc)" --target prism_whisper whisper-cli > "$OUT/build.log" 2>&1 || { tail -50 "$OUT/build.log"; exit 1; }
echo "build (deps/patches $PATCHES): $(( $(date +%s) - start )) s"
ls -la build/Release/

# The benchmark finds its models (ggml-test-SIZE.bin) in PRISM_WHISPER_CACHE; table.mjs wants SIZE.bin.
export PRISM_WHISPER_CACHE=/tmp/prism-models PRISM_BENCH_SPEECH=$PWD/.gpu/speech
mkdir -p /tmp/prism-models
for size in tiny ${PRISM_GPU_SIZES:-medium large-v3-turbo}; do
  node -e "import('./dist/index.js').then(m => m.makeTestModel('/tmp/prism-models/ggml-test-$size.bin', { size: '$size', script: 25 })).then(i => console.log('generated', i.size, i.bytes))"
  ln -sf "ggml-test-$size.bin" "/tmp/prism-models/$size.bin"
done
echo "models: $(( $(date +%s) - start )) s; profilers: $(command -v nsys ncu | tr '\n' ' ')"

CLI=$(find build -name whisper-cli -type f | head -1)
# PRISM_GPU_CHECK=0 / PRISM_GPU_TABLE=0 / PRISM_GPU_BENCH=0 skip a part; PRISM_GPU_ABLATE=1 adds bench/gpu/ablate.mjs.
[ "${PRISM_GPU_CHECK:-1}" = 1 ] && node bench/gpu/check.mjs --gpu "$BACKEND" --model /tmp/prism-models/tiny.bin --audio "$W/bindings/go/samples/jfk.wav" | tee "$OUT/check.log"
[ "${PRISM_GPU_ABLATE:-0}" = 1 ] && node bench/gpu/ablate.mjs --gpu "$BACKEND" --models /tmp/prism-models --sizes "${PRISM_GPU_SIZES:-medium large-v3-turbo}" \
  --audio "$W/bindings/go/samples/jfk.wav" --cli "$CLI" | tee "$OUT/ablate.md"
[ "${PRISM_GPU_TABLE:-1}" = 1 ] && node bench/gpu/table.mjs --gpu "$BACKEND" --models /tmp/prism-models --sizes "${PRISM_GPU_SIZES:-medium large-v3-turbo}" \
  --audio "$W/bindings/go/samples/jfk.wav" --json "$OUT/table.json"
# The benchmark itself on the GPU, with GPU utilisation sampled every 100 ms while it runs.
if [ "${PRISM_GPU_BENCH:-1}" = 1 ]; then
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -lms 100 > "$OUT/gpu-util.csv" 2>/dev/null &
  SMI=$!
  node bin/prism-dictate.js bench --gpu "$BACKEND" --sizes "$(echo "${PRISM_GPU_SIZES:-medium large-v3-turbo}" | tr ' ' ',')" \
    --runs "${PRISM_GPU_RUNS:-10}" --no-alternatives --whisper-cli "$CLI" --json "$OUT/bench.json" | tee "$OUT/bench.md"
  kill $SMI 2>/dev/null || true
  awk -F', ' '{ gsub(/ %/, "", $2); s += $2; n++; if ($2 > m) m = $2 } END { if (n) printf "GPU utilisation during the bench: mean %.0f %%, max %d %% (%d samples)\n", s / n, m, n }' "$OUT/gpu-util.csv" || true
fi
echo "total: $(( $(date +%s) - start )) s"
