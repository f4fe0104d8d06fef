"""The farm's clock."""

import datetime


def utcnow():
    """Now in UTC, naive: how the database stores times."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
