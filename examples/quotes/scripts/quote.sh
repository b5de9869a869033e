#!/bin/sh
# Calls pricing.quote from a shell, through the endpoint's named pipe:
#   examples/quotes/scripts/quote.sh ACME 10
# prints the reply, one JSON line: {"result":{"symbol":"ACME","quantity":10,...}}, or
# {"error":{...}} (exit 1). Gives up after QUOTE_TIMEOUT seconds (default 5): the service
# may not be running. Its reply FIFO is removed whatever happens.
set -eu
symbol=${1:?usage: quote.sh SYMBOL [QUANTITY]}
quantity=${2:-1}
limit=${QUOTE_TIMEOUT:-5}
base=${HOSTMESH_RUNTIME_DIR:-}
[ -n "$base" ] || { [ -n "${XDG_RUNTIME_DIR:-}" ] && base=$XDG_RUNTIME_DIR/hostmesh; } || true
[ -n "$base" ] || base=${TMPDIR:-/tmp}/hostmesh-$(id -u)
pipes=$base/${HOSTMESH_NAMESPACE:-quotes-example}/pipes/pricing@0
# Checked here: the line is JSON built by the shell, and a bad value would make a line the service cannot parse.
bad() { printf '{"error":{"name":"UsageError","code":"BAD_ARGUMENT","message":"%s","retryable":false}}\n' "$1"; exit 1; }
case $symbol in *[!A-Za-z0-9._-]*) bad "symbol must be letters, digits, '.', '_' or '-'" ;; esac
case $quantity in '' | *[!0-9]*) bad "quantity must be a whole number" ;; esac
[ -p "$pipes/quote.in" ] || { echo "quote.sh: no pricing service: $pipes/quote.in does not exist (is the deployment up?)" >&2; exit 2; }

reply=$(mktemp -u) && mkfifo -m 600 "$reply"
trap 'rm -f "$reply"' EXIT
trap 'exit 130' INT TERM
timeout "$limit" sh -c 'printf "%s\n" "$1" > "$2"' - \
  "{\"args\":[{\"symbol\":\"$symbol\",\"quantity\":$quantity}],\"replyTo\":\"$reply\"}" "$pipes/quote.in" &
line=$(timeout "$limit" head -n 1 "$reply") || { echo "quote.sh: no reply within ${limit} s" >&2; exit 124; }
wait
echo "$line"
case $line in '{"error"'*|*'"error":'*) exit 1 ;; esac
