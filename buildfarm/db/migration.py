"""Schema migrations (alembic), run by the controller at start."""

import os

from alembic import command
from alembic import config as alembic_config

_SCRIPTS = os.path.join(os.path.dirname(__file__), 'migrations')


def _config(connection):
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', _SCRIPTS)
    cfg.attributes['connection'] = connection
    return cfg


def upgrade(engine, revision='head'):
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)
