import pytest

from buildfarm.cli import node
from buildfarm import exception


@pytest.mark.parametrize('text,seconds', [
    ('90', 90), ('90s', 90), ('30m', 1800), (' 2h ', 7200), ('1d', 86400)])
def test_hold_durations(text, seconds):
    assert node.parse_duration(text) == seconds


@pytest.mark.parametrize('text', ['', '2w', '1.5h', 'h'])
def test_a_bad_duration_says_what_is_valid(text):
    with pytest.raises(exception.BuildfarmError, match='s, m, h or d'):
        node.parse_duration(text)
