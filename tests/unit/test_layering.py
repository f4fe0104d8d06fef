"""Modules that must not depend on others (checked in a fresh interpreter,
since the test process has imported everything already)."""

import subprocess
import sys

import pytest

CHECK = '''
import importlib, sys
importlib.import_module(sys.argv[1])
p = sys.argv[2]
bad = sorted(m for m in sys.modules if m == p or m.startswith(p + '.'))
print(' '.join(bad))
'''


@pytest.mark.parametrize('module,forbidden', [
    ('buildfarm.mistral.actions', 'buildfarm.cli'),
    ('buildfarm.drivers.nova.driver', 'buildfarm.db'),
    ('buildfarm.drivers.docker.driver', 'buildfarm.db'),
])
def test_module_does_not_import(module, forbidden):
    out = subprocess.run([sys.executable, '-c', CHECK, module, forbidden],
                         check=True, capture_output=True, text=True).stdout
    assert out.strip() == '', '%s imports %s' % (module, out.strip())
