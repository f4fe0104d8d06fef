from alembic import autogenerate
from alembic import migration as alembic_migration
import sqlalchemy as sa

from buildfarm.db import api
from buildfarm.db import models


def test_migrations_build_the_schema_of_the_models(tmp_path):
    store = api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    store.upgrade()
    with store.engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        diff = autogenerate.compare_metadata(context, models.Base.metadata)
        assert diff == []
        assert context.get_current_revision() == '0005'


def test_upgrade_twice_keeps_the_data(tmp_path):
    store = api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    store.upgrade()
    store.create_job('j', 'repo_job', 'default', {'cmd': 'true'}, '/log')
    store.upgrade()
    assert store.get_job('j')['spec'] == {'cmd': 'true'}
    with store.engine.connect() as connection:
        mode = connection.execute(sa.text('PRAGMA journal_mode')).scalar()
    assert mode == 'wal'
