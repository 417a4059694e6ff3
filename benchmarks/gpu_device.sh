#!/usr/bin/env bash
# The first GPU measurement, prepared for a session that is lent one (the `device` tool: one H100
# or H200, JAX but no TensorFlow, no package registry, 15 minutes of device time in all, the first
# start included). No GPU run has been measured yet: `--dry-run --device h100|h200` plans with an
# assumed 1% of the data-sheet peak (`estimate.ACCELERATOR_EFFICIENCY`), and the `paper` profile,
# meant for a GPU, has never run. This script measures, in one call of at most 7 minutes:
#   1. the plan for the whole paper profile with that assumption (`all --dry-run --device`);
#   2. the plan of the two MNIST claims from a step calibration on the GPU itself (`--dry-run`);
#   3. `mnist-mlp` and `mnist-cnn` in the paper profile (3 seeds each, JAX, bfloat16 by `auto`),
#      each under a time cap, so the plan can be checked against their wall times and their
#      efficiency can replace the assumed one.
# CIFAR-10 (178 MB) does not fit the 64 MiB that travels in one call; MNIST (11 MB) does.
#
#   here:   bash benchmarks/gpu_device.sh prepare [DATA_DIR]   (default $REPLICATION_DATA_DIR)
#           -> .gpu/wheels (keras, keras-tuner and what the GPU image lacks, for its Python 3.12)
#              and .gpu/data/mnist; .gpu/ is git-ignored
#   there:  the device tool's run, carry [".gpu"], timeout_s 450:
#           bash benchmarks/gpu_device.sh measure
#           -> $OUT: log.txt, env.txt, plan_paper_assumed.txt, plan_mnist_calibrated.txt,
#              step_calibration.json, mnist-mlp.result.json, mnist-cnn.result.json
# The `measure` step runs on a CPU too, with the Keras installed there and JAX's CPU backend:
# GPU_MEASURE_PROFILE=smoke GPU_DATA=<data dir> checks the script end to end in about 4 minutes
# on a 2-core CPU (tests/test_jax_backend.py). The time caps, about 7 minutes in all:
# GPU_MEASURE_PLAN_CAP_S (75, each plan), GPU_MEASURE_CAP_S (100, each claim), 30 s for the
# closing `list`; a claim stopped by its cap leaves no result file, and the log says so.
set -euo pipefail
cd "$(dirname "$0")/.."
me=benchmarks/gpu_device.sh
step=${1:-}
py=${PYTHON:-python3}  # the GPU image's python3 holds JAX
case $step in
    prepare)
        data=${2:-${REPLICATION_DATA_DIR:-}}
        if [[ -z $data || ! -f $data/mnist/MD5SUMS ]]; then
            echo "$me: no MNIST at '${data}/mnist' (give the data dir that holds mnist/ with its MD5SUMS)" >&2
            exit 2
        fi
        mkdir -p .gpu/wheels .gpu/data
        # The GPU image has jax, numpy, scipy, pandas, matplotlib, seaborn, absl-py, h5py, rich,
        # ml-dtypes and six (the device tool's KINDS.md); Keras and Keras Tuner it lacks.
        python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
            --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 -d .gpu/wheels \
            $(python -c 'from importlib.metadata import version as v; print(*(f"{d}=={v(d)}" for d in ("keras", "keras-tuner")))') \
            kt-legacy namex optree
        rm -rf .gpu/data/mnist
        cp -r "$data/mnist" .gpu/data/mnist
        chmod -R u+w .gpu/data
        du -sh .gpu
        ;;
    measure)
        data=${GPU_DATA:-.gpu/data}
        have_keras=$("$py" -c 'import importlib.util as u; print(int(u.find_spec("keras") is not None))')
        if [[ $have_keras == 0 ]] && ! ls .gpu/wheels/keras-*.whl >/dev/null 2>&1; then
            echo "$me: no Keras here and no .gpu/wheels: run '$me prepare' on a machine with PyPI, then carry .gpu" >&2
            exit 2
        fi
        if [[ ! -d $data/mnist ]]; then
            echo "$me: no MNIST at '$data/mnist': run '$me prepare' on a machine with the data, then carry .gpu" >&2
            exit 2
        fi
        out=${OUT:-/tmp/gpu_out}
        mkdir -p "$out"
        results=$(mktemp -d)
        profile=${GPU_MEASURE_PROFILE:-paper}
        plan_cap=${GPU_MEASURE_PLAN_CAP_S:-75}
        exec > >(tee "$out/log.txt") 2>&1
        if [[ $have_keras == 0 ]]; then  # the GPU image; elsewhere the installed Keras
            "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
                --target /tmp/site .gpu/wheels/*.whl
            export PYTHONPATH=/tmp/site
        fi
        export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} KERAS_BACKEND=jax PYTHONUNBUFFERED=1
        device=h100
        if nvidia-smi -L 2>/dev/null | grep -q H200; then device=h200; fi
        {
            date -u +%FT%TZ; git rev-parse HEAD 2>/dev/null || true; nproc
            nvidia-smi 2>&1 || echo "no nvidia-smi"
            "$py" -c 'import sys, jax, keras, numpy; print(sys.version); print("jax", jax.__version__, jax.devices()); print("keras", keras.__version__, keras.backend.backend()); print("numpy", numpy.__version__)'
        } > "$out/env.txt" 2>&1
        cat "$out/env.txt"
        echo "== $(date -u +%T) 1. the paper plan with the assumed efficiency ($device)"
        timeout "$plan_cap" "$py" -m replication all --profile paper --dry-run --device "$device" \
            --results-dir "$results" > "$out/plan_paper_assumed.txt" 2>&1 || true
        cat "$out/plan_paper_assumed.txt"
        echo "== $(date -u +%T) 2. the MNIST claims' plan, calibrated on this device"
        timeout "$plan_cap" "$py" -m replication run mnist-mlp mnist-cnn --profile "$profile" --dry-run \
            --data-dir "$data" --results-dir "$results" > "$out/plan_mnist_calibrated.txt" 2>&1 || true
        cat "$out/plan_mnist_calibrated.txt"
        for claim in mnist-mlp mnist-cnn; do
            echo "== $(date -u +%T) 3. $claim, $profile profile"
            timeout "${GPU_MEASURE_CAP_S:-100}" "$py" -m replication run "$claim" --profile "$profile" \
                --data-dir "$data" --results-dir "$results" || echo "$claim: exit $? (124: its cap)"
            found=$(find "$results" -path "*/$claim/result.json" | head -1)
            if [[ -n $found ]]; then cp "$found" "$out/$claim.result.json"; fi
        done
        cp "$results/step_calibration.json" "$out/" 2>/dev/null || true
        timeout 30 "$py" -m replication list --profile "$profile" --results-dir "$results" 2>&1 | tail -20 || true
        echo "== $(date -u +%T) done: $(ls "$out" | tr '\n' ' ')"
        ;;
    *)
        echo "$me: unknown step '$step' (prepare here, measure on the GPU machine)" >&2
        exit 2
        ;;
esac
