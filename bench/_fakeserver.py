"""Run ``tests/fakeserver.py`` with Nagle's algorithm off (``TCP_NODELAY``) on its sockets.

The fake server writes each SSE event as its own small write; with Nagle on, every write
after the first waits for the client's delayed ACK (up to 40 ms on Linux), which is an
artificial delay no real provider adds. Usage is the same as the fake server's own:
``python bench/_fakeserver.py --port 0 --script FILE --log FILE``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fakeserver  # noqa: E402

fakeserver._Handler.disable_nagle_algorithm = True

if __name__ == "__main__":
    fakeserver.main()
