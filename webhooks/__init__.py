"""Outbound event delivery to other government systems.

Delivery reads the engine's event table as an outbox (signing, retries, dead
letters); it is specified in the project's issue on time and webhooks and has
no code yet. Kept as a package so that its place in the tree is fixed.
"""
