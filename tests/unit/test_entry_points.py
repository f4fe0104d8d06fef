"""Every entry point of setup.cfg names a class or function that exists
(checked from the file, since the installed metadata may be older)."""

import configparser
import importlib
import os

import pytest

SETUP_CFG = os.path.join(os.path.dirname(__file__), '..', '..', 'setup.cfg')


def _entry_points():
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    for group, lines in parser['entry_points'].items():
        for line in lines.strip().splitlines():
            name, _, target = (part.strip() for part in line.partition('='))
            yield group, name, target


@pytest.mark.parametrize('group,name,target', list(_entry_points()))
def test_entry_point_resolves(group, name, target):
    module, _, attribute = target.partition(':')
    assert callable(getattr(importlib.import_module(module), attribute))
