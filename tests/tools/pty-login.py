#!/usr/bin/env python3
"""Runs `mwg login` on a pseudo-terminal as a person would: waits for each
prompt, types the answer, and writes everything the terminal showed to
stdout (so a test can check that neither secret was echoed). Exit status:
mwg's. Usage: pty-login.py PASSWORD OTP -- mwg login ARGS..."""
import os, pty, select, sys, time

def main():
    password, otp = sys.argv[1], sys.argv[2]
    argv = sys.argv[sys.argv.index("--") + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    seen = b""
    answers = [(b"Password for ", password), (b"One-time code: ", otp)]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            seen += data
        # Type an answer once its prompt has been shown, in order.
        if answers and seen.rfind(answers[0][0]) != -1 and \
                seen.endswith(b": "):
            os.write(fd, answers[0][1].encode() + b"\n")
            answers.pop(0)
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(seen)
    sys.exit(os.waitstatus_to_exitcode(status))

main()
