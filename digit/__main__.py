import sys

from digit.cli import main

sys.exit(main())
