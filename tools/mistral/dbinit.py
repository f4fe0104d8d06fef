"""Create Mistral's schema from its models: "mistral-db-manage upgrade
head" fails on SQLite (a migration alters constraints, which SQLite
cannot). Then "mistral-db-manage stamp head" and "populate".

Usage: python dbinit.py --config-file mistral.conf
"""

import sys

from mistral import config
from mistral.db.v2 import api


config.parse_args(sys.argv[1:])
api.setup_db()
