"""``python -m argus.kernel.supervisor [--home DIR] [--detach]``: run the session-supervisor."""

import sys

from .control import main

if __name__ == "__main__":
    sys.exit(main())
