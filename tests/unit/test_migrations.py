from alembic import autogenerate
from alembic import migration as alembic_migration
import sqlalchemy as sa

from buildfarm.db import api
from buildfarm.db import migration
from buildfarm.db import models


def test_migrations_build_the_schema_of_the_models(tmp_path):
    store = api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    store.upgrade()
    with store.engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        diff = autogenerate.compare_metadata(context, models.Base.metadata)
        assert diff == []
        assert context.get_current_revision() == '0006'


def test_upgrade_twice_keeps_the_data(tmp_path):
    store = api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    store.upgrade()
    store.create_job('j', 'repo_job', 'default', {'cmd': 'true'}, '/log')
    store.upgrade()
    assert store.get_job('j')['spec'] == {'cmd': 'true'}
    with store.engine.connect() as connection:
        mode = connection.execute(sa.text('PRAGMA journal_mode')).scalar()
    assert mode == 'wal'


def test_idempotency_keys_move_into_their_projects(tmp_path):
    store = api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    migration.upgrade(store.engine, '0005')
    with store.engine.begin() as connection:
        for job_id, project, key in (('a', None, 'k'), ('b', 'alpha', 'l'),
                                     ('c', 'alpha', None)):
            connection.execute(sa.text(
                "INSERT INTO jobs (id, kind, label, spec, state, attempt, "
                "timings, created_at, updated_at, project_id, "
                "idempotency_key) VALUES (:id, 'repo_job', 'default', '{}', "
                "'queued', 0, '{}', '2026-12-01', '2026-12-01', :project, "
                ":key)"), {'id': job_id, 'project': project, 'key': key})
    store.upgrade()
    assert store.find_job_by_key(None, 'k')['id'] == 'a'
    assert store.find_job_by_key('alpha', 'l')['id'] == 'b'
    assert store.find_job_by_key('alpha', 'k') is None
    assert store.get_job('c')['idempotency_key'] is None
    # Another project's key is another job.
    assert store.create_job('d', 'repo_job', 'default', {}, '/log',
                            idempotency_key='l', project_id='beta')['id'] == (
        'd')
    assert store.create_job('e', 'repo_job', 'default', {}, '/log',
                            idempotency_key='l', project_id='alpha')['id'] == (
        'b')
