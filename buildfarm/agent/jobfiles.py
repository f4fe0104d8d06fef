"""Reading what the job controls (its checkout, its build's output) from
the agent, which runs as root.

The job may have put a symbolic link, a hard link, a FIFO or a device
where the agent expects a file, or may swap one in while the agent
reads. So nothing here follows a symbolic link, opens anything but a
regular file (opening never blocks), reads a file the job user does not
own, or reads more than it was asked to. Every refusal is an
ImageBuildError naming the file.
"""

import errno
import os
import stat

from buildfarm import exception

_FILE_FLAGS = (os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
               | os.O_CLOEXEC)
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
# Deeper trees are refused rather than walked: each level holds a
# descriptor and a stack frame.
MAX_DEPTH = 200


def _refuse(message):
    raise exception.ImageBuildError(message)


def kind(mode):
    for test, name in ((stat.S_ISLNK, 'a symbolic link'),
                       (stat.S_ISDIR, 'a directory'),
                       (stat.S_ISFIFO, 'a FIFO'),
                       (stat.S_ISSOCK, 'a socket'),
                       (stat.S_ISCHR, 'a character device'),
                       (stat.S_ISBLK, 'a block device')):
        if test(mode):
            return name
    return 'not a regular file'


def open_dir(path, dir_fd=None, shown=None):
    """A descriptor of directory ``path``, which must not be a symbolic
    link."""
    try:
        return os.open(path, _DIR_FLAGS, dir_fd=dir_fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR):
            _refuse('%s is not a directory (a symbolic link?); the build '
                    'must leave it a directory.' % (shown or path))
        raise


def open_file(name, dir_fd, owner=None, shown=None):
    """(descriptor, stat) of the regular file ``name`` in ``dir_fd``.

    ``owner``: the uid the file must belong to (the job user's; None when
    the agent itself runs as that user). FileNotFoundError if it is
    missing.
    """
    shown = shown or name
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            _refuse('%s is a symbolic link; the agent reads only regular '
                    'files of the app: make it a file.' % shown)
        if e.errno == errno.ENOENT:
            raise
        _refuse('Cannot read %s: %s.' % (shown, e.strerror))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            _refuse('%s is %s; the agent reads only regular files of the '
                    'app: make it a file.' % (shown, kind(info.st_mode)))
        if owner is not None and info.st_uid != owner:
            _refuse('%s belongs to uid %d, not to the job user (is it a '
                    'hard link to a file of the node?); the agent reads '
                    'only the app\'s own files.' % (shown, info.st_uid))
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_file(directory, name, limit, owner=None, shown=None):
    """The bytes of regular file ``name`` in ``directory``, at most
    ``limit`` of them (more is an error); None if there is no such
    file."""
    shown = shown or name
    dir_fd = open_dir(directory)
    try:
        fd, _ = open_file(name, dir_fd, owner, shown)
    except FileNotFoundError:
        return None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, 'rb') as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        _refuse('%s is larger than %d KiB, the most the agent reads of it.'
                % (shown, limit // 1024))
    return data


def walk(directory, shown):
    """Yield (path, lstat, dir_fd) of everything under ``directory``,
    directories before their contents, names in order, never following
    a symbolic link. ``path`` starts with ``shown``; ``dir_fd`` is the
    directory holding the entry (open the entry by its base name in
    it). A directory swapped for a link while walked is refused.
    """
    top = open_dir(directory, shown=shown)
    try:
        yield shown, os.fstat(top), None
        yield from _walk(top, shown, 1)
    finally:
        os.close(top)


def _walk(dir_fd, shown, depth):
    if depth > MAX_DEPTH:
        _refuse('%s is more than %d directories deep; the image takes '
                'shallower trees only.' % (shown, MAX_DEPTH))
    for name in sorted(os.listdir(dir_fd)):
        path = '%s/%s' % (shown, name)
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed meanwhile
        yield path, info, dir_fd
        if stat.S_ISDIR(info.st_mode):
            sub = open_dir(name, dir_fd, shown=path)
            try:
                yield from _walk(sub, path, depth + 1)
            finally:
                os.close(sub)
