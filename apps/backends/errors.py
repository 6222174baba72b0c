"""Errors every backend raises, whatever service sits behind it.

Tasks decide from the class alone: retry a TransientError with backoff; turn any other
BackendError into a terminal status whose reason is the error's message.
"""


class BackendError(Exception):
    """A remote call failed; `str(error)` is a message fit for a user."""


class TransientError(BackendError):
    """Throttling, a 5xx or a dropped connection: the same call may succeed later."""


class RemoteValidationError(BackendError):
    """The service rejected the request as invalid: retrying will not help."""


class RemoteNotConfigured(RemoteValidationError):
    """ModelHub itself lacks what the target needs to be reached (credentials, region): an administrator's fix."""


class RemoteNotFound(BackendError):
    """The remote object does not exist (never created, or already deleted)."""


class RemoteConflict(BackendError):
    """An object with this name already exists: adopt it rather than create a second."""
