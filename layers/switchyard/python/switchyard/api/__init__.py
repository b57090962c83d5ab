"""The REST API (Powertools APIGatewayRestResolver with validation and OpenAPI)."""
