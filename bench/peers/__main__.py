"""``python -m bench.peers`` (the same as ``python -m bench peers``)."""

from __future__ import annotations

import sys

from bench.peers.harness import main

sys.exit(main())
