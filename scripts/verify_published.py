"""``make verify``: data/published/ is what this code publishes from the current tables.

Publishes again into a temporary folder and checks every CSV's sha256 -- published and
rebuilt -- against ``data/published/datapackage.json``.  Exit 1 on any difference.
"""

from __future__ import annotations

import logging
import sys

from pipeline import config, publish


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    checked, problems = publish.verify(config.paths())
    for line in problems:
        print(f"verify: {line}", file=sys.stderr)
    if problems or not checked:
        print(f"verify: FAILED ({len(problems)} problems, {len(checked)} files)", file=sys.stderr)
        return 1
    print(f"verify: {len(checked)} published files match the sha256 in datapackage.json "
          f"and a fresh publish from the current tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
