"""Domain objects and rules: no boto3, no PynamoDB."""
