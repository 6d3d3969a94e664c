"""``python -m dqn_tf``: see :mod:`dqn_tf.cli`."""

import sys

from dqn_tf.cli import main

sys.exit(main())
