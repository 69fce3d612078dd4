"""A virtual null-modem cable for tests: two pseudo-terminals whose traffic is copied both ways.
Prints the two device paths on one line, then bridges until killed (as socat -d pty pty would)."""
import os, select, sys, tty

pairs = [os.openpty() for _ in range(2)]
for _, slave in pairs:
    tty.setraw(slave)
print(os.ttyname(pairs[0][1]), os.ttyname(pairs[1][1]), flush=True)
a, b = pairs[0][0], pairs[1][0]
while True:
    ready, _, _ = select.select([a, b], [], [])
    for fd in ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            continue
        os.write(b if fd == a else a, data)
