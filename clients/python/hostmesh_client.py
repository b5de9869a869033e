"""A hostmesh client in Python: the standard library's socket plus the msgpack package.

It speaks the frame protocol of docs/protocol.md over a service's Unix socket, asking for
plain msgpack (header flag 0x10), so nothing beyond a standard msgpack library is needed.
"""
import json
import os
import socket
import struct

import msgpack

MAGIC, VERSION = 0xA7, 1
REQUEST, RESPONSE, ERROR = 1, 2, 3
FLAG_RAW, FLAG_PLAIN = 0x04, 0x10
HEADER = struct.Struct("<BBBBIII")  # magic, version, kind, flags, correlation id, route id, body length


def route_id(name):
    """32-bit FNV-1a of the UTF-8 route name, e.g. 'pricing.quote'."""
    h = 0x811C9DC5
    for byte in name.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


class HostmeshError(Exception):
    """An error reply: the service's error name, code and retryable flag, as it sent them."""

    def __init__(self, body):
        super().__init__(body.get("message"))
        self.name = body.get("name")
        self.code = body.get("code")
        self.retryable = body.get("retryable", False)
        self.data = body.get("data")


def socket_path(service, namespace="default", instance="0", runtime_dir=None):
    """Where a service listens, from its descriptor in the runtime directory's registry."""
    base = runtime_dir or os.environ.get("HOSTMESH_RUNTIME_DIR")
    if base is None:
        xdg = os.environ.get("XDG_RUNTIME_DIR")
        base = os.path.join(xdg, "hostmesh") if xdg else "/tmp/hostmesh-%d" % os.getuid()
    with open(os.path.join(base, namespace, "registry", "%s@%s.json" % (service, instance))) as descriptor:
        return json.load(descriptor)["listeners"]["uds"]["path"]


class Client:
    def __init__(self, path, timeout=5.0):
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.settimeout(timeout)
        self._socket.connect(path)
        self._next_id = 0

    def call(self, route, *args):
        """Calls `service.endpoint` with `args` and returns its value, or raises HostmeshError."""
        self._next_id += 1
        body = msgpack.packb(list(args), use_bin_type=True)
        self._socket.sendall(HEADER.pack(MAGIC, VERSION, REQUEST, FLAG_PLAIN, self._next_id, route_id(route), len(body)) + body)
        while True:
            magic, version, kind, flags, correlation, _route, length = HEADER.unpack(self._read(HEADER.size))
            if magic != MAGIC or version != VERSION:
                raise ValueError("not a hostmesh frame")
            payload = self._read(length)
            value = payload if flags & FLAG_RAW else msgpack.unpackb(payload, raw=False)
            if correlation == 0 and kind == ERROR:
                raise HostmeshError(value)  # about the whole connection (a refusal)
            if correlation != self._next_id:
                continue  # a late reply to an earlier call that timed out
            if kind == ERROR:
                raise HostmeshError(value)
            if kind == RESPONSE:
                return value
            raise ValueError("unexpected frame kind %d" % kind)

    def close(self):
        self._socket.close()

    def _read(self, size):
        chunks = []
        while size > 0:
            chunk = self._socket.recv(min(size, 1 << 20))
            if not chunk:
                raise ConnectionError("the service closed the connection")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)
