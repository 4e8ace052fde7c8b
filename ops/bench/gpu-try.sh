#!/usr/bin/env bash
# One short try of the trainer benchmark on a lent GPU machine (Python PyTorch with CUDA, maybe no Java).
# The bundle is built here by: ops/bench/gpu-bundle.sh (classes + runtime jars without the CPU
# libtorch + a jlink'ed JRE 17). DJL 0.36's JNI is built for libtorch 2.7.1 only, and no CUDA build of
# libtorch 2.7.1 can be downloaded on a machine without network: this tries the machine's own libtorch.
set -u
bundle=${1:-bench/target/gpu-bundle.tar.gz}
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; echo "cores: $(nproc)"
echo "== java: $(command -v java || echo 'none on PATH')"
python3 -c "import torch,os;print('python torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
echo "== plain PyTorch eager, same MLP, batch 256"
python3 ops/bench/pytorch_mlp.py --device cuda --steps 500
python3 ops/bench/pytorch_mlp.py --device cpu --threads 1 --steps 200
python3 ops/bench/pytorch_mlp.py --device cpu --threads 16 --steps 200
echo "== DJL 0.36 with the machine's libtorch"
tmp=$(mktemp -d); tar xzf "$bundle" -C "$tmp"
JAVA=$(command -v java || echo "$tmp/gpu-bundle/jre/bin/java")
TORCH_LIB=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
echo "libtorch dir: $TORCH_LIB"; ls "$TORCH_LIB" | tr '\n' ' '; echo
PYTORCH_LIBRARY_PATH=$TORCH_LIB PYTORCH_VERSION=2.7.1 PYTORCH_FLAVOR=cu128 DJL_CACHE_DIR=$tmp/djl \
  timeout 150 "$JAVA" -Dai.djl.offline=true -cp "$tmp/gpu-bundle/classes:$tmp/gpu-bundle/lib/*" \
  io.rehearsal.bench.trainer.TrainerThroughput 1 300 2>&1 | grep -v '^\s*at ' | tail -20
jni=$(find "$tmp/djl" -name '*libdjl_torch.so' 2>/dev/null | head -1)
if [ -n "$jni" ]; then
  echo "== unresolved symbols of the DJL JNI against this libtorch (first 10)"
  LD_LIBRARY_PATH=$TORCH_LIB ldd -r "$jni" 2>&1 | grep -E "undefined symbol|not found" | head -10 | cut -c1-200
fi
echo "== other libtorch builds on this machine"
find / -xdev \( -name 'libtorch_cuda.so' -o -name 'libtorch.so' \) 2>/dev/null | grep -v "^$TORCH_LIB" | head -5
