"""Interactions in storage: designs, instances, offer history, activity slots (PynamoDB stays here)."""
