"""``python -m replay`` = ``dipwatch replay``."""

import sys

from dipwatch.cli import main

main(["replay", *sys.argv[1:]])
