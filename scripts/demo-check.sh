#!/bin/sh
# Runs make demo's script and fails if a token's value shows up in its
# output, or if the expected exit codes do not appear.
set -eu
cd "$(dirname "$0")/.."
out=$(./scripts/demo.sh 2>&1)
. ./scripts/fake-token.sh
# The demo's tokens share the filler of fake_token: any 12 characters of it
# in the output are a leak.
for secret in "$(fake_token oat01 demo-good)" "$(fake_token oat01 demo-old)" FAKEFAKEFAKE; do
	if printf '%s' "$out" | grep -qF "$secret"; then
		echo "demo-check: a token leaked into the demo's output" >&2
		exit 1
	fi
done
for want in '[exit 0]' '[exit 6]' '[exit 5]' 'exec ok: this shell replaced sleeve-check' '"hasCompletedOnboarding": true'; do
	printf '%s' "$out" | grep -qF "$want" || { echo "demo-check: missing $want in the demo's output" >&2; printf '%s\n' "$out" >&2; exit 1; }
done
echo "demo-check: ok"
