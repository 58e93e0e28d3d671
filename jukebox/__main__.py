import sys

from jukebox.cli import main

sys.exit(main())
