import sys

from confrt.cli import main

sys.exit(main())
