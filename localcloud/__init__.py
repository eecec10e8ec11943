"""The local cloud: the SAM app's real state machines and handlers on moto, in virtual time.

Never deployed and never imported by ``functions/`` or ``layers/``.
"""
