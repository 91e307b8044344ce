"""Awarding-body simulator: speaks each verification channel over real HTTP and SMTP.

Run it with `python -m simulator`; the channel contracts are documented in `simulator/README.md`.
"""
