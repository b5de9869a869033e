"""Another local user squatting hostmesh's names: creates each object with the C library's
own calls (not hostmesh's addon), mode 0666 and umask 0, as an attacker would.

usage: squat.py sem:/name mq:/name shm:/name ...   (prints "squatted" when all exist)
"""
import ctypes
import os
import sys

O_RDWR, O_CREAT, O_EXCL = 0o2, 0o100, 0o200
libc = ctypes.CDLL(None, use_errno=True)
libc.sem_open.restype = ctypes.c_void_p
libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
libc.shm_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint]

os.umask(0)
for spec in sys.argv[1:]:
    kind, name = spec.split(":", 1)
    if kind == "sem":
        ok = libc.sem_open(name.encode(), O_CREAT | O_EXCL, 0o666, 1) not in (None, 0)
    elif kind == "mq":
        ok = libc.mq_open(name.encode(), O_CREAT | O_EXCL | O_RDWR, 0o666, None) >= 0
    elif kind == "shm":
        fd = libc.shm_open(name.encode(), O_CREAT | O_EXCL | O_RDWR, 0o666)
        ok = fd >= 0 and os.ftruncate(fd, 4096) is None
    else:
        sys.exit(f"unknown kind {kind}")
    if not ok:
        sys.exit(f"{spec}: {os.strerror(ctypes.get_errno())}")
print("squatted", flush=True)
