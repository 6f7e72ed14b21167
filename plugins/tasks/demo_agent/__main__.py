"""``python -m argus.plugins.tasks.demo_agent``: run the demo agent in this terminal."""

import sys

from .cli import main

sys.exit(main())
