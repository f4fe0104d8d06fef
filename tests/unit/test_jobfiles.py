"""Reading the job's files from the agent: no link followed, regular
files only, never blocking, capped."""

import os

import pytest

from buildfarm.agent import jobfiles
from buildfarm import exception


def test_a_missing_file_reads_as_none(tmp_path):
    assert jobfiles.read_file(str(tmp_path), 'Procfile', 10) is None


def test_a_file_within_the_limit_is_read(tmp_path):
    (tmp_path / 'f').write_bytes(b'0123456789')
    assert jobfiles.read_file(str(tmp_path), 'f', 10) == b'0123456789'
    with pytest.raises(exception.ImageBuildError,
                       match='the f is larger than 0 KiB'):
        jobfiles.read_file(str(tmp_path), 'f', 9, shown='the f')


def test_the_directory_itself_must_not_be_a_link(tmp_path):
    (tmp_path / 'real').mkdir()
    (tmp_path / 'real' / 'Procfile').write_text('web: x\n')
    os.symlink(tmp_path / 'real', tmp_path / 'app')
    with pytest.raises(exception.ImageBuildError,
                       match='is not a directory'):
        jobfiles.read_file(str(tmp_path / 'app'), 'Procfile', 100)


def test_the_walk_never_enters_a_linked_directory(tmp_path):
    app = tmp_path / 'app'
    (app / 'sub').mkdir(parents=True)
    (app / 'sub' / 'f').write_text('x')
    os.symlink('/etc', app / 'etc')
    walked = [(path, dir_fd is None) for path, _, dir_fd in
              jobfiles.walk(str(app), 'app')]
    assert walked == [('app', True), ('app/etc', False), ('app/sub', False),
                      ('app/sub/f', False)]


def test_a_tree_too_deep_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(jobfiles, 'MAX_DEPTH', 3)
    (tmp_path / 'a' / 'b' / 'c' / 'd').mkdir(parents=True)
    with pytest.raises(exception.ImageBuildError,
                       match='app/a/b/c is more than 3 directories deep'):
        list(jobfiles.walk(str(tmp_path), 'app'))
