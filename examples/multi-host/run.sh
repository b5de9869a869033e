#!/usr/bin/env bash
# Two hosts on one machine: network namespaces hm-demo-a and hm-demo-b joined by a veth
# pair (10.78.0.1 <-> 10.78.0.2), each running `hostmesh up --host <key>` on the same
# manifest with its own runtime directory, as two machines would. desk (on b) calls
# pricing (on a) over mutual TLS. Needs root (ip netns); everything is removed on exit.
set -euo pipefail
cd "$(dirname "$0")"
hostmesh() { node "$PWD/../../packages/cli/bin/hostmesh.js" "$@"; }
on() { local host=$1; shift; ip netns exec "hm-demo-$host" env HOSTMESH_RUNTIME_DIR="/tmp/hm-demo-$host" node "$PWD/../../packages/cli/bin/hostmesh.js" "$@"; }

cleanup() {
  for host in b a; do
    ip netns list | grep -q "^hm-demo-$host\b" && on "$host" down -n multi-host >/dev/null 2>&1 || true
    ip netns del "hm-demo-$host" 2>/dev/null || true
    rm -rf "/tmp/hm-demo-$host"
  done
}
trap cleanup EXIT
cleanup

ip netns add hm-demo-a
ip netns add hm-demo-b
ip link add hm-demo-va type veth peer name hm-demo-vb
ip link set hm-demo-va netns hm-demo-a
ip link set hm-demo-vb netns hm-demo-b
ip -n hm-demo-a addr add 10.78.0.1/24 dev hm-demo-va
ip -n hm-demo-b addr add 10.78.0.2/24 dev hm-demo-vb
for host in a b; do
  ip -n "hm-demo-$host" link set lo up
  ip -n "hm-demo-$host" link set "hm-demo-v$host" up
done

hostmesh certs --out certs --hosts a=10.78.0.1,b=10.78.0.2
on a up hostmesh.json --host a --detach
on b up hostmesh.json --host b --detach
echo '# on b:'
on b ps -n multi-host
echo '# on b: desk.quote ACME × 10 (desk runs on b and asks pricing on a):'
on b call desk.quote '["ACME", 10]' --args -n multi-host
