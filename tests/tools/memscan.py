#!/usr/bin/env python3
"""memscan PID NAME=HEX...: which secrets a running process holds.

Reads every readable mapping of PID through /proc/PID/mem (root; a
sanitizer's anonymous shadow of 64 GiB or more is skipped) and
prints "found NAME" for each pattern present, as given or byte-reversed
(a BIGNUM keeps a key's scalar least significant byte first on x86), and
"absent NAME" otherwise. Exit 0, or 2 on bad use or an unreadable PID.
"""
import sys

CHUNK = 1 << 20
# A sanitizer's shadow memory is one readable mapping of terabytes that
# holds only allocation metadata, never the program's bytes: skipped.
SHADOW_MIN = 1 << 36


def mappings(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5] if len(parts) > 5 else ""
            if "r" not in parts[1] or path in ("[vvar]", "[vsyscall]"):
                continue
            if hi - lo >= SHADOW_MIN and not path:
                continue
            yield lo, hi


def scan(pid, patterns):
    found = set()
    longest = max(len(p) for _, p in patterns)
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for lo, hi in mappings(pid):
            tail = b""
            pos = lo
            while pos < hi:
                n = min(CHUNK, hi - pos)
                try:
                    mem.seek(pos)
                    data = mem.read(n)
                except OSError:
                    break
                buf = tail + data
                for name, pat in patterns:
                    if name not in found and pat in buf:
                        found.add(name)
                tail = buf[-(longest - 1):] if longest > 1 else b""
                pos += n
    return found


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    pid = sys.argv[1]
    patterns = []
    for arg in sys.argv[2:]:
        name, _, hexval = arg.partition("=")
        raw = bytes.fromhex(hexval)
        if len(raw) < 8:
            print(f"memscan: {name}: pattern shorter than 8 bytes", file=sys.stderr)
            return 2
        patterns.append((name, raw))
        patterns.append((name, raw[::-1]))
    try:
        found = scan(pid, patterns)
    except OSError as e:
        print(f"memscan: {pid}: {e}", file=sys.stderr)
        return 2
    for name in dict.fromkeys(n for n, _ in patterns):
        print(("found " if name in found else "absent ") + name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
