#!/bin/sh
# Calls pricing.quote from a shell, through the endpoint's named pipe:
#   examples/quotes/scripts/quote.sh ACME 10
# prints the reply, one JSON line: {"result":{"symbol":"ACME","quantity":10,...}}
set -eu
symbol=${1:?usage: quote.sh SYMBOL [QUANTITY]}
quantity=${2:-1}
base=${HOSTMESH_RUNTIME_DIR:-}
[ -n "$base" ] || { [ -n "${XDG_RUNTIME_DIR:-}" ] && base=$XDG_RUNTIME_DIR/hostmesh; } || true
[ -n "$base" ] || base=${TMPDIR:-/tmp}/hostmesh-$(id -u)
pipes=$base/${HOSTMESH_NAMESPACE:-quotes-example}/pipes/pricing@0

reply=$(mktemp -u) && mkfifo -m 600 "$reply"
trap 'rm -f "$reply"' EXIT
printf '{"args":[{"symbol":"%s","quantity":%s}],"replyTo":"%s"}\n' "$symbol" "$quantity" "$reply" > "$pipes/quote.in" &
head -n 1 "$reply"
wait
