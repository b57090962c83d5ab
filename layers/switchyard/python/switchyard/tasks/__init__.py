"""Task implementations: pure work over files, called by the task Lambdas."""
