#!/usr/bin/env python3
"""Runs a command with setting a resource limit refused (EPERM), as a
service manager's system-call filter may refuse it: the setrlimit call,
and prlimit64 with a new limit (glibc's setrlimit), get EPERM; reading a
limit (prlimit64 with none) still works. Through libseccomp (ctypes), with
no new privileges, as the unit's NoNewPrivileges=yes. Usage:
deny-setrlimit.py COMMAND [ARG...]"""
import ctypes
import ctypes.util
import os
import sys

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO = 0x00050000
EPERM = 1
SCMP_CMP_NE = 1


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: deny-setrlimit.py COMMAND [ARG...]")
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp") or "libseccomp.so.2")
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32,
                                           ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        sys.exit("deny-setrlimit: seccomp_init failed")
    deny = SCMP_ACT_ERRNO | EPERM
    rc = lib.seccomp_rule_add_array(
        ctx, deny, lib.seccomp_syscall_resolve_name(b"setrlimit"), 0, None)
    # prlimit64(pid, resource, new_limit, old_limit): refused when it sets.
    new_limit = (ArgCmp * 1)(ArgCmp(2, SCMP_CMP_NE, 0, 0))
    rc = rc or lib.seccomp_rule_add_array(
        ctx, deny, lib.seccomp_syscall_resolve_name(b"prlimit64"), 1,
        new_limit)
    rc = rc or lib.seccomp_load(ctx)
    if rc != 0:
        sys.exit("deny-setrlimit: cannot install the filter: %s" %
                 os.strerror(-rc))
    os.execvp(sys.argv[1], sys.argv[1:])


main()
