"""`python -m bot`: see bot.cli."""

import gc
import sys

# The start-up makes ~100,000 objects that live as long as the process (modules, classes,
# handlers): collecting while they are made finds nothing and took ~60 ms of each start.
# bot.cli.main turns collection back on, with these objects frozen out of its rounds.
gc.disable()

from bot import tls  # noqa: E402

tls.read_ahead()

from bot.cli import main  # noqa: E402

sys.exit(main())
