"""In-memory compute targets for tests and demos, selected by settings like any other target.

As Django's locmem e-mail backend keeps mail in `django.core.mail.outbox`, these keep every remote
object in a class-level "world" that tests script and inspect, and reset between tests.
"""
