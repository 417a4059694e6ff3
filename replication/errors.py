"""The one exception family the command line turns into a one-line message and a non-zero exit."""


class ReplicationError(Exception):
    """A problem the user can fix: bad data, a bad argument, a damaged result file.

    The message must name the file or the argument and say what is wrong; the command line prints
    it as ``error: <message>`` without a traceback and exits with status 1.
    """


class DataError(ReplicationError):
    """A dataset file is missing, damaged, or not what it claims to be."""


class ResultError(ReplicationError):
    """A saved result cannot be read or written."""


class LockHeld(ReplicationError):
    """Another run holds a claim folder's lock, or its lock file is damaged (see replication.locks)."""
