"""Data access: PynamoDB models stay inside this package; repositories return domain objects."""
