"""Adapters to AWS services behind small interfaces (events, blobs, the state machine engine)."""
