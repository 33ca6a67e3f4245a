"""Errors that reach the user as one line, with exit code 2 and no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: a file, a field or a value that is not allowed.

    The message is printed on one line as it is, so it should name the file, the
    field (with line and column where known) and what is allowed.
    """

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
