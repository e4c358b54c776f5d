#!/bin/bash
# kill -9 during checkpoint writes, N times (default 20): after every kill the checkpoint must
# load (vsc eval --no-figures on it) and, after the next successful write (a short --resume),
# no stale .checkpoint.safetensors.tmp-* file may remain.
#   usage: scripts/kill9-checkpoints.sh [N] [VSC binary]
set -u
N=${1:-20}
VSC=${2:-.build/release/vsc}
DIR=$(mktemp -d /tmp/vsc-kill9-XXXXXX)
SPEC=$DIR/spec.yaml
cat > "$SPEC" <<'YAML'
name: kill9
kind: vsc
data: {name: smiley, count: 200, test_count: 20}
hidden: [256]
latent: 8
likelihood: bernoulli
prior: {alpha: 0.2, pseudo_inputs: 4}
batch_size: 20
iterations: 1000000
checkpoint_every: 1
YAML
corrupt=0; stale=0; midwrite=0
"$VSC" train --spec "$SPEC" --out "$DIR/run" --iterations 2 --quiet > /dev/null 2>&1 || { echo "setup run failed"; exit 1; }
for i in $(seq 1 "$N"); do
  "$VSC" train --spec "$SPEC" --out "$DIR/run" --resume --quiet > /dev/null 2>&1 &
  pid=$!
  # Wait until the resumed run is training (its first checkpoint write), then die at a random
  # point: every iteration writes a checkpoint, so many kills land mid-write.
  before=$(stat -c %y "$DIR/run/checkpoint.safetensors")
  for _ in $(seq 1 1200); do
    now=$(stat -c %y "$DIR/run/checkpoint.safetensors")
    [ "$now" != "$before" ] && break
    sleep 0.05
  done
  sleep "0.$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if ! "$VSC" eval --checkpoint "$DIR/run/checkpoint.safetensors" --out "$DIR/eval" --no-figures --quiet --count 20 > /dev/null 2>"$DIR/eval.err"; then
    echo "kill $i: checkpoint does not load: $(head -c 300 "$DIR/eval.err")"; corrupt=$((corrupt + 1))
  fi
  tmps=$(ls -a "$DIR/run" | grep -c '\.tmp-' || true)
  [ "$tmps" -ne 0 ] && midwrite=$((midwrite + 1))
  # The next successful write removes the temporaries a kill left behind.
  it=$("$VSC" train --spec "$SPEC" --out "$DIR/run" --resume --quiet --iterations 0 2>&1 | grep -o 'trained for [0-9]*' | grep -o '[0-9]*')
  "$VSC" train --spec "$SPEC" --out "$DIR/run" --resume --quiet --iterations $(( ${it:-0} + 1 )) > /dev/null 2>&1
  left=$(ls -a "$DIR/run" | grep -c '\.tmp-' || true)
  [ "$left" -ne 0 ] && { echo "kill $i: $left stale temporaries after the next write"; stale=$((stale + 1)); }
  echo "kill $i: at iteration ${it:-?}; temporaries after the kill $tmps, after the next write $left"
done
echo "$N kills ($midwrite left a temporary, i.e. landed mid-write): $corrupt corrupt checkpoints, $stale runs with stale temporaries"
rm -rf "$DIR"
[ "$corrupt" -eq 0 ] && [ "$stale" -eq 0 ]
