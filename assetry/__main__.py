import sys

from assetry.cli import main

sys.exit(main())
